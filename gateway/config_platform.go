package gateway

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// PlatformConfig is the platform section of a config file: where the
// platform keeps its state, who administers it, and its call log. It
// decodes into one [WithPlatform] call; routes then name their API with
// policy.subscription.
type PlatformConfig struct {
	// File is the platform's embedded store, a bbolt file (relative to
	// the config file's directory), for a single node. Set it or Redis.
	File string `yaml:"file"`
	// Redis keeps the state in the store section's Redis, shared by
	// replicas. Set it or File.
	Redis bool `yaml:"redis"`
	// AdminTokens maps each administrator (the actor in the audit log) to
	// its bearer token, at least 16 bytes; write tokens as "${ENV}".
	// Required.
	AdminTokens map[string]string `yaml:"admin_tokens"`
	// Refresh is how long a replica trusts its cached state; see
	// platform.WithRefresh. If zero, the store is asked on every request.
	Refresh time.Duration `yaml:"refresh"`
	// FailClosed answers 503 while the store is unreachable; see
	// platform.WithFailClosed.
	FailClosed bool `yaml:"fail_closed"`
	// SubscribeURL is where refusals send consumers to subscribe. If
	// empty, "/subscriptions".
	SubscribeURL string `yaml:"subscribe_url"`
	// CallLog records one entry per call for the dashboard and the admin
	// API. If nil, calls are not recorded. The log lives in the gateway's
	// memory: a reload starts it afresh.
	CallLog *CallLogConfig `yaml:"call_log"`
}

// CallLogConfig sizes the in-process call log of a config file. The
// zero value keeps the latest 10000 calls and six hours of one-minute
// windows.
type CallLogConfig struct {
	// Ring is how many of the latest calls are kept. If zero, 10000.
	Ring int `yaml:"ring"`
	// Buffer is the queue between requests and the log; when it is full,
	// records are dropped rather than delaying requests. If zero, 8192.
	Buffer int `yaml:"buffer"`
	// Resolution is the width of an aggregation window. If zero, 1m.
	Resolution time.Duration `yaml:"resolution"`
	// Retention is how long windows are kept. If zero, 6h.
	Retention time.Duration `yaml:"retention"`
}

// PlatformFiles keeps the platform files that configurations name open
// for the life of a process. bbolt locks its file, so a process opens it
// once: give the same PlatformFiles to every load (with
// [WithPlatformFiles]) when a [Reloader] rebuilds the gateway, and close
// it when the process ends. It is safe for concurrent use.
type PlatformFiles struct {
	mu     sync.Mutex
	open   map[string]*platform.FileStore
	closed bool
}

// NewPlatformFiles returns an empty PlatformFiles.
func NewPlatformFiles() *PlatformFiles {
	return &PlatformFiles{open: map[string]*platform.FileStore{}}
}

// WithPlatformFiles makes [Config.Build] and [Config.Options] take
// platform files from files, which owns them, instead of opening them for
// the gateway alone. Without it, the gateway opens the file and closes it
// when it is closed, so a second gateway on the same file cannot be built
// while the first is open.
func WithPlatformFiles(files *PlatformFiles) Option {
	return optionFunc(func(c *config) { c.platformFiles = files })
}

// store returns the open store at path, opening it on first use.
func (f *PlatformFiles) store(path string) (*platform.FileStore, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errors.New("the platform files are closed")
	}
	if s := f.open[abs]; s != nil {
		return s, nil
	}
	s, err := platform.OpenFile(abs)
	if err != nil {
		return nil, err
	}
	f.open[abs] = s
	return s, nil
}

// Close closes every file. Gateways using them must be closed first.
func (f *PlatformFiles) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	var errs []error
	for p, s := range f.open {
		errs = append(errs, s.Close())
		delete(f.open, p)
	}
	return errors.Join(errs...)
}

// platformOptions turns the platform section into a WithPlatform option,
// with what the gateway must close.
func (c *Config) platformOptions(bc *config, rs *redisstore.Store) ([]Option, []io.Closer, []error) {
	pc := c.Platform
	if pc == nil {
		return nil, nil, nil
	}
	errs := checkPlatform(pc, c.Store)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	var closers []io.Closer
	var store platform.Store
	switch {
	case pc.Redis:
		if rs == nil { // the store section is invalid: accessOptions said why
			return nil, nil, nil
		}
		store = rs.Documents()
	case bc.platformFiles != nil:
		s, err := bc.platformFiles.store(c.rel(pc.File))
		if err != nil {
			return nil, nil, []error{fieldErr("platform.file", "%v", err)}
		}
		store = s
	default:
		s, err := platform.OpenFile(c.rel(pc.File))
		if err != nil {
			return nil, nil, []error{fieldErr("platform.file", "%v", err)}
		}
		closers = append(closers, s)
		store = s
	}
	popts := []platform.Option{platform.WithRefresh(pc.Refresh)}
	for _, actor := range sortedKeys(pc.AdminTokens) {
		popts = append(popts, platform.WithAdminToken(actor, pc.AdminTokens[actor]))
	}
	if pc.FailClosed {
		popts = append(popts, platform.WithFailClosed())
	}
	if pc.SubscribeURL != "" {
		popts = append(popts, platform.WithSubscribeURL(pc.SubscribeURL))
	}
	if bc.logger != nil {
		popts = append(popts, platform.WithLogger(bc.logger))
	}
	var rec *calllog.Recorder
	if cl := pc.CallLog; cl != nil {
		ring := calllog.NewRing(or(cl.Ring, 10000))
		agg := calllog.NewAggregator(calllog.AggregatorConfig{Resolution: cl.Resolution, Retention: cl.Retention})
		rec = calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring, agg}, Buffer: cl.Buffer, Logger: bc.logger})
		closers = append(closers, recorderCloser{rec})
		popts = append(popts, platform.WithCallLog(ring, agg))
	}
	opts := []Option{WithPlatform(platform.New(store, popts...), rec)}
	// The gateway closes the platform's change feed first, then the
	// recorder (flushing it) and the store.
	for _, cl := range closers {
		opts = append(opts, withCloser(cl))
	}
	return opts, closers, nil
}

// checkPlatform validates the platform section.
func checkPlatform(pc *PlatformConfig, st *StoreConfig) []error {
	var errs []error
	switch {
	case pc.File == "" && !pc.Redis:
		errs = append(errs, fieldErr("platform.file", "is required: the platform's bbolt file, or set redis: true to use the store section's Redis"))
	case pc.File != "" && pc.Redis:
		errs = append(errs, fieldErr("platform.redis", "set either file or redis, not both"))
	case pc.Redis && (st == nil || st.Redis == nil || st.Redis.Address == ""):
		errs = append(errs, fieldErr("platform.redis", "needs the store section's redis address (store.redis.address)"))
	}
	if len(pc.AdminTokens) == 0 {
		errs = append(errs, fieldErr("platform.admin_tokens", "is required: map an administrator to a token, like root: ${PORTICO_ADMIN_TOKEN}"))
	}
	for _, actor := range sortedKeys(pc.AdminTokens) {
		switch {
		case actor == "":
			errs = append(errs, fieldErr("platform.admin_tokens", "an administrator's name is empty"))
		case len(pc.AdminTokens[actor]) < 16:
			errs = append(errs, fieldErr("platform.admin_tokens."+actor, "the token must be at least 16 bytes; generate one with openssl rand -hex 16"))
		}
	}
	if pc.Refresh < 0 {
		errs = append(errs, fieldErr("platform.refresh", "must not be negative"))
	}
	if cl := pc.CallLog; cl != nil {
		for _, f := range []struct {
			name string
			bad  bool
		}{{"ring", cl.Ring < 0}, {"buffer", cl.Buffer < 0}, {"resolution", cl.Resolution < 0}, {"retention", cl.Retention < 0}} {
			if f.bad {
				errs = append(errs, fieldErr("platform.call_log."+f.name, "must not be negative"))
			}
		}
		if cl.Retention > 0 && cl.Resolution >= 0 && cl.Retention < or(cl.Resolution, time.Minute) {
			errs = append(errs, fieldErr("platform.call_log.retention", "must be at least one resolution (%s)", or(cl.Resolution, time.Minute)))
		}
	}
	return errs
}

// recorderCloser flushes and stops a call-log recorder.
type recorderCloser struct{ rec *calllog.Recorder }

func (r recorderCloser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.rec.Close(ctx)
}
