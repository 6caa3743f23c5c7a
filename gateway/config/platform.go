package config

import (
	"context"
	"path/filepath"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/platform"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// Platform is the platform section of a config file: where the platform
// keeps its state, who administers it, and its call log. It decodes into
// one [WithPlatform] call; routes then name their API with
// policy.subscription.
type Platform struct {
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
	// API. If nil, calls are not recorded. The log lives in the process's
	// memory: a reload keeps it while this section is unchanged, and a
	// restart starts it afresh.
	CallLog *CallLog `yaml:"call_log"`
}

// CallLog sizes the in-process call log of a config file. The
// zero value keeps the latest 10000 calls and six hours of one-minute
// windows.
type CallLog struct {
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

// platform turns the platform section into a WithPlatform option applied
// to the build, borrowing its file and its call log from the state.
func (c *File) platform(b *gateway.Builder, rs *redisstore.Store) []error {
	pc := c.Platform
	if pc == nil {
		return nil
	}
	errs := checkPlatform(pc, c.Store)
	if len(errs) > 0 {
		return errs
	}
	var store platform.Store
	switch {
	case pc.Redis:
		if rs == nil { // the store section is invalid: store said why
			return nil
		}
		store = rs.Documents()
	default:
		s, err := platformFile(b, c.rel(pc.File))
		if err != nil {
			return []error{fieldErr("platform.file", "%v", err)}
		}
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
	if l := b.Logger(); l != nil {
		popts = append(popts, platform.WithLogger(l))
	}
	var rec *calllog.Recorder
	if cl := pc.CallLog; cl != nil {
		log, err := callLog(b, *cl)
		if err != nil {
			return []error{fieldErr("platform.call_log", "%v", err)}
		}
		rec = log.rec
		popts = append(popts, platform.WithCallLog(log.ring, log.agg))
	}
	// The gateway stops the platform's change feed when it is closed; the
	// state closes the recorder (flushing it) and the file once no
	// gateway uses them.
	b.Apply(WithPlatform(platform.New(store, popts...), rec))
	return nil
}

// platformFile borrows the platform's bbolt file at path. bbolt locks
// its file, so the process opens it once, and every build borrows it.
func platformFile(b *gateway.Builder, path string) (*platform.FileStore, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	v, err := b.Keep("platform_file", func() (any, error) { return platform.OpenFile(abs) }, abs)
	if err != nil {
		return nil, err
	}
	return v.(*platform.FileStore), nil
}

// callLogParts are the in-process call log: its recorder and sinks.
type callLogParts struct {
	rec  *calllog.Recorder
	ring *calllog.Ring
	agg  *calllog.Aggregator
}

// Close flushes and stops the recorder.
func (p *callLogParts) Close() error { return recorderCloser{p.rec}.Close() }

// callLog borrows the call log: the previous build's, with its records,
// while the call_log section and the logger are unchanged.
func callLog(b *gateway.Builder, cl CallLog) (*callLogParts, error) {
	v, err := b.Keep("call_log", func() (any, error) {
		ring := calllog.NewRing(or(cl.Ring, 10000))
		agg := calllog.NewAggregator(calllog.AggregatorConfig{Resolution: cl.Resolution, Retention: cl.Retention})
		rec := calllog.NewRecorder(calllog.RecorderConfig{Sinks: []calllog.Sink{ring, agg}, Buffer: cl.Buffer, Logger: b.Logger()})
		return &callLogParts{rec: rec, ring: ring, agg: agg}, nil
	}, cl, identity(b.Logger()))
	if err != nil {
		return nil, err
	}
	return v.(*callLogParts), nil
}

// checkPlatform validates the platform section.
func checkPlatform(pc *Platform, st *Store) []error {
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
