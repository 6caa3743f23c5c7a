package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
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
	// loaded from it (as [LoadGateway] does, reading it once per load),
	// and [Reloader.Watch] reloads when its content changes.
	Path string
	// FS, if set, holds Path, which is then a name in it (see
	// fs.ValidPath): the default load and [Reloader.Watch] read Path
	// from FS. If nil, Path is a file of the operating system. Files the
	// configuration names (OpenAPI documents, certificates, the platform
	// file) are opened by the build, from the operating system either
	// way.
	FS fs.FS
	// Options are given to every default load of Path, after the file's
	// own and before gateway.WithState. They need the default load:
	// NewReloader panics if Load is set too.
	Options []gateway.Option
	// Lookup resolves the ${VAR} and ${VAR:-default} references of Path
	// at every default load, as [Parse]'s env does: it returns a
	// variable's value and whether it is set. If nil, the process
	// environment (os.LookupEnv) is used. It needs the default load:
	// NewReloader panics if Load is set too.
	Lookup func(name string) (string, bool)
	// Load builds a new gateway borrowing from st, the process's state:
	// a reload then keeps what the gateway learned (limits, quotas,
	// caches, idempotency records, AI windows and budgets, breakers,
	// upstream health, platform files; see gateway.State). If nil, the
	// default load reads Path once, takes its ${VAR} values from Lookup
	// and builds it with Options and gateway.WithState(st); set it to
	// build otherwise, such as in Go.
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
	state   *gateway.State
	cur     atomic.Pointer[gateway.Gateway]
	mu      sync.Mutex // serializes reloads
	retired sync.WaitGroup
	closed  bool
	sum     []byte // of cfg.Path, read before the current gateway was loaded
}

// NewReloader loads and starts the first gateway, and waits, up to
// ReadyTimeout, for it to be warm and ready. It panics if cfg has
// neither Path nor Load, or has Load with Options or Lookup, which only
// the default load uses.
func NewReloader(cfg ReloadConfig) (*Reloader, error) {
	cfg.validate()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Drain == 0 {
		cfg.Drain = 30 * time.Second
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 5 * time.Second
	}
	r := &Reloader{cfg: cfg, state: gateway.NewState()}
	g, err := r.load()
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

// validate panics on a configuration no reloader can follow: a
// programmer's error at wiring time.
func (cfg *ReloadConfig) validate() {
	switch {
	case cfg.Load == nil && cfg.Path == "":
		panic("portico/config: ReloadConfig needs Path or Load")
	case cfg.Load != nil && cfg.Lookup != nil:
		panic("portico/config: ReloadConfig.Lookup applies to the default load only; drop it or Load")
	case cfg.Load != nil && len(cfg.Options) > 0:
		panic("portico/config: ReloadConfig.Options apply to the default load only; drop them or Load")
	}
}

// load builds a gateway, noting the sum of the file. The default load
// reads the file once for both; the sum of a file that does not build
// is noted too, so that Watch does not retry it until it changes.
func (r *Reloader) load() (*gateway.Gateway, error) {
	if r.cfg.Load != nil {
		r.sum = r.fileSum()
		return r.cfg.Load(r.state)
	}
	data, err := r.readFile()
	if err != nil {
		return nil, fmt.Errorf("portico/config: %w", err)
	}
	sum := sha256.Sum256(data)
	r.sum = sum[:]
	return buildFile(r.cfg.Path, data, r.cfg.Lookup, append(slices.Clip(r.cfg.Options), gateway.WithState(r.state))...)
}

// readFile reads Path, from FS if set.
func (r *Reloader) readFile() ([]byte, error) {
	if r.cfg.FS != nil {
		return fs.ReadFile(r.cfg.FS, r.cfg.Path)
	}
	return os.ReadFile(r.cfg.Path)
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
	sum := r.fileSum()
	r.mu.Lock()
	defer r.mu.Unlock()
	return sum != nil && !bytes.Equal(sum, r.sum)
}

// fileSum returns the SHA-256 sum of Path, or nil if there is no Path or
// it cannot be read.
func (r *Reloader) fileSum() []byte {
	if r.cfg.Path == "" {
		return nil
	}
	data, err := r.readFile()
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
