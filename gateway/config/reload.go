package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/gateway"
)

// ReloadConfig configures a [Reloader].
type ReloadConfig struct {
	// Path is the configuration file: by default each gateway is
	// loaded ([LoadGateway]) from it, and [Reloader.Watch] reloads when its content
	// changes.
	Path string
	// Options are given to every [LoadGateway] of Path, after the file's own
	// and before gateway.WithState.
	Options []gateway.Option
	// Load builds a new gateway borrowing from st, the process's state:
	// a reload then keeps what the gateway learned (limits, quotas,
	// caches, idempotency records, AI windows and budgets, breakers,
	// upstream health, platform files; see gateway.State). If nil, it is
	// LoadGateway(Path, Options..., gateway.WithState(st)); set it to build
	// otherwise, such as from a file read elsewhere, or in Go.
	Load func(st *gateway.State) (*gateway.Gateway, error)
	// Logger records reloads, each with how long its build (for the
	// default load: reading, parsing and building) and its warm-up took
	// ("build", "warm"), and rejected configurations.
	// If nil, slog.Default() is used.
	Logger *slog.Logger
	// Drain is how long a replaced gateway may keep serving the requests
	// it already had before its upstreams are closed. If zero, 30s.
	Drain time.Duration
	// ReadyTimeout is how long a new gateway is given to warm up (the
	// first round of health checks of its new pools; pools carried over
	// are warm already) and report ready before it is swapped in anyway.
	// If zero, 5s.
	ReadyTimeout time.Duration
	// OnReload, if set, is called after every reload attempt with its
	// outcome.
	OnReload func(error)
}

// Reloader serves the current gateway and swaps in a new one on
// [Reloader.Reload]: the new gateway is built, started and warmed first
// (its new pools checked), then swapped in atomically, so no request
// waits on a reload; requests in flight finish on the old one, which is
// closed once drained. A configuration that fails to build is rejected
// and logged, and the old gateway keeps serving.
//
// The Reloader owns the process's gateway.State and hands it to every
// Load:
// each gateway borrows what the previous one learned, and a piece no
// gateway uses any more is closed with the last gateway that used it.
//
// A Reloader is safe for concurrent use.
type Reloader struct {
	cfg     ReloadConfig
	ownLoad bool // cfg.Load is the default: LoadGateway(Path, Options...)
	state   *gateway.State
	cur     atomic.Pointer[gateway.Gateway]
	mu      sync.Mutex // serializes reloads
	retired sync.WaitGroup
	closed  bool
	sum     []byte // of cfg.Path, read before the current gateway was loaded
}

// NewReloader loads and starts the first gateway, and waits, up to
// ReadyTimeout, for it to be warm and ready.
func NewReloader(cfg ReloadConfig) (*Reloader, error) {
	if cfg.Load == nil && cfg.Path == "" {
		panic("portico/config: ReloadConfig needs Path or Load")
	}
	ownLoad := cfg.Load == nil
	if ownLoad {
		path, opts := cfg.Path, cfg.Options
		cfg.Load = func(st *gateway.State) (*gateway.Gateway, error) {
			return LoadGateway(path, append(slices.Clip(opts), gateway.WithState(st))...)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Drain == 0 {
		cfg.Drain = 30 * time.Second
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 5 * time.Second
	}
	r := &Reloader{cfg: cfg, ownLoad: ownLoad, state: gateway.NewState(), sum: fileSum(cfg.Path)}
	g, err := cfg.Load(r.state)
	if err != nil {
		_ = r.state.Close()
		return nil, err
	}
	g.Start(context.Background())
	r.ready(context.Background(), g)
	r.cur.Store(g)
	return r, nil
}

// ServeHTTP serves r with the current gateway.
func (r *Reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.cur.Load().ServeHTTP(w, req)
}

// Current returns the gateway serving new requests.
func (r *Reloader) Current() *gateway.Gateway { return r.cur.Load() }

// Reload builds a new gateway and swaps it in. On error the current
// gateway stays.
func (r *Reloader) Reload(ctx context.Context) error {
	built, warmed, err := r.reload(ctx)
	if err != nil {
		r.cfg.Logger.Error("configuration rejected; the previous one keeps serving", "error", err)
	} else {
		r.cfg.Logger.Info("configuration reloaded", "build", built, "warm", warmed)
	}
	if r.cfg.OnReload != nil {
		r.cfg.OnReload(err)
	}
	return err
}

// reload builds, starts, warms and swaps in a new gateway, and returns
// how long the build and the warm-up took.
func (r *Reloader) reload(ctx context.Context) (built, warmed time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, 0, errors.New("portico/config: reloader is closed")
	}
	start := time.Now()
	g, err := r.load()
	if err != nil {
		return 0, 0, err
	}
	built = time.Since(start)
	g.Start(context.Background())
	r.ready(ctx, g)
	warmed = time.Since(start) - built
	old := r.cur.Swap(g)
	r.retire(old)
	return built, warmed, nil
}

// load builds a gateway from the file, noting the sum of what it read.
// The default load reads the file once for both.
func (r *Reloader) load() (*gateway.Gateway, error) {
	if !r.ownLoad {
		r.sum = fileSum(r.cfg.Path)
		return r.cfg.Load(r.state)
	}
	g, sum, err := loadGateway(r.cfg.Path, append(slices.Clip(r.cfg.Options), gateway.WithState(r.state))...)
	if sum != nil {
		r.sum = sum
	}
	return g, err
}

// ready waits, up to ReadyTimeout, for g to be warm (its new pools
// checked) and ready.
func (r *Reloader) ready(ctx context.Context, g *gateway.Gateway) {
	wait, cancel := context.WithTimeout(ctx, r.cfg.ReadyTimeout)
	defer cancel()
	g.Warm(wait)
	for !g.Ready() && wait.Err() == nil {
		select {
		case <-wait.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// retire closes old once its requests are done, or after Drain.
func (r *Reloader) retire(old *gateway.Gateway) {
	r.retired.Add(1)
	go func() {
		defer r.retired.Done()
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Drain)
		defer cancel()
		_ = old.Drain(ctx)
		_ = old.Close()
	}()
}

// Watch reloads on SIGHUP and, when ReloadConfig.Path is set, whenever
// the file's content differs from what was last loaded (checked every
// interval, 2s if zero; content rather than modification time, so a
// Kubernetes ConfigMap's symlink swap is seen). It returns when ctx is
// done.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.Reload(ctx)
		case <-tick.C:
			if r.cfg.Path != "" && r.changed() {
				_ = r.Reload(ctx)
			}
		}
	}
}

func (r *Reloader) changed() bool {
	sum := fileSum(r.cfg.Path)
	r.mu.Lock()
	defer r.mu.Unlock()
	return sum != nil && !bytes.Equal(sum, r.sum)
}

func fileSum(path string) []byte {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := sha256.Sum256(data)
	return s[:]
}

// Close closes the current gateway, waits for replaced ones to drain and
// close, then closes the state. Drain the server first
// (http.Server.Shutdown).
func (r *Reloader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	err := r.cur.Load().Close()
	r.retired.Wait()
	return errors.Join(err, r.state.Close())
}
