// Command gateway runs a Portico gateway.
//
// With no flags it needs nothing else: it starts two small demo services
// on loopback ports (users, with two instances, and orders) and routes to
// them with the embedded default configuration, listening on loopback
// only:
//
//	go run ./examples/gateway
//	curl -i localhost:8080/api/users
//	curl -N localhost:8080/api/orders/events
//	curl -s 127.0.0.1:9090/routes
//
// The demo configuration is for local trial. Its demo consumer's key,
// "portico-demo-key" (or $DEMO_API_KEY), is public, so it reaches only
// the offline demo model. The real models that OPENAI_API_KEY,
// ANTHROPIC_API_KEY or GEMINI_API_KEY add (OPENAI_BASE_URL points the
// first at any OpenAI-compatible server) answer only the operator key:
// $PORTICO_API_KEY, or a random key printed at start-up when it is not
// set. -addr :8080 opens the demo to the network; the gateway warns when
// it does.
//
// With -config it serves your own file instead (see gateway.example.yaml),
// reloading it on SIGHUP or when the file changes. The proxy listens on
// 127.0.0.1:8080 unless -addr says otherwise, as the container image and
// the Kubernetes manifests in deploy/ do with -addr :8080.
//
// Logs (the access log among them) are JSON lines on standard error,
// written in batches off the request path: -log-buffer bounds the bytes
// waiting (1 MiB; records beyond it are dropped and counted as the
// portico.log.dropped metric), and -log-buffer 0 writes each record at
// once.
package main

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/config"
	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/telemetry"
)

//go:embed default.yaml
var defaultConfig []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, os.LookupEnv, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// flags are the command-line settings.
type flags struct {
	addr, adminAddr, config string
	grace                   time.Duration
	level                   slog.Level
	logBuffer               int
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "proxy listen address; \":8080\" listens on every interface")
	fs.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:9090", "admin listen address (/healthz, /readyz, /metrics, /routes, /upstreams, /apis/)")
	fs.StringVar(&f.config, "config", "", "configuration file (YAML or JSON); if empty, the embedded demo configuration with its demo services")
	fs.DurationVar(&f.grace, "shutdown-grace", 0, "how long in-flight requests may finish on shutdown (default: the config's server.shutdown_grace, else 30s)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.IntVar(&f.logBuffer, "log-buffer", 1<<20, "bytes of log records held in memory and written in batches, off the request path (records over it are dropped and counted); 0 writes each record at once")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := f.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	if f.logBuffer < 0 {
		return nil, fmt.Errorf("-log-buffer: %d is negative", f.logBuffer)
	}
	return f, nil
}

// run starts the gateway and serves until ctx is done. env looks up
// environment variables for the demo configuration. ready, if not nil,
// receives the proxy and admin addresses once both listen.
func run(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool), ready func(proxy, admin net.Addr)) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	out := stderr
	var lw *middleware.LogWriter
	if f.logBuffer > 0 {
		lw = middleware.NewLogWriter(stderr, middleware.LogWriterConfig{Size: f.logBuffer})
		defer func() {
			_ = lw.Close()
			if n := lw.Dropped(); n > 0 {
				_, _ = fmt.Fprintf(stderr, "%d log records dropped: the log output fell behind (raise -log-buffer)\n", n)
			}
		}()
		out = lw
	}
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: f.level}))

	metrics, err := config.NewMetrics()
	if err != nil {
		return err
	}
	defer func() { _ = metrics.Shutdown(context.WithoutCancel(ctx)) }()
	if lw != nil {
		if err := logDropMetric(metrics.Provider.Meter("github.com/portico-dev/portico/examples/gateway"), lw); err != nil {
			return err
		}
	}
	opts := []gateway.Option{gateway.WithLogger(logger), gateway.WithMeterProvider(metrics.Provider)}
	var file *config.File
	if f.config != "" {
		if file, err = config.Read(f.config); err != nil {
			return err
		}
	}
	tel, err := startTelemetry(ctx, logger, file)
	if err != nil {
		return err
	}
	if tel != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := tel.Shutdown(sctx); err != nil {
				logger.Warn("telemetry flush", "error", err)
			}
		}()
		opts = append(opts, gateway.WithTracerProvider(tel.TracerProvider), gateway.WithPropagator(tel.Propagator))
		// The call log's otlp sink (platform.call_log.sinks) emits through
		// the global logger provider: OTLP when telemetry.logs is on.
		otel.SetLoggerProvider(tel.LoggerProvider)
	}

	// Each load of the file borrows the reloader's state (limits, quotas,
	// caches, breakers, pool health, the platform file), so a reload keeps
	// what the gateway learned and can reopen nothing the running one
	// holds.
	rc := config.ReloadConfig{Logger: logger, Path: f.config, Options: opts}
	var server gateway.ServerConfig
	var demo *demo
	if f.config != "" {
		// The listener's protocols, limits and TLS (with the client
		// certificates it requires) are read once: a reload changes routes
		// and policies, not the listener.
		if server, err = file.ServerConfig(); err != nil {
			return err
		}
	} else {
		if demo, err = startDemo(logger, env); err != nil {
			return err
		}
		defer demo.close()
		rc.Load = func(st *gateway.State) (*gateway.Gateway, error) {
			c, err := config.Parse("default.yaml", defaultConfig, demo.env)
			if err != nil {
				return nil, err
			}
			return c.Build(append(opts, gateway.WithState(st))...)
		}
	}
	if f.grace > 0 {
		server.ShutdownGrace = f.grace
	}
	server.Logger = logger
	rl, err := config.NewReloader(rc)
	if err != nil {
		return err
	}
	defer func() { _ = rl.Close() }()

	var lc net.ListenConfig
	proxyL, err := lc.Listen(ctx, "tcp", f.addr)
	if err != nil {
		return err
	}
	adminL, err := lc.Listen(ctx, "tcp", f.adminAddr)
	if err != nil {
		_ = proxyL.Close()
		return err
	}
	logger.Info("gateway listening", "addr", proxyL.Addr().String(), "admin", adminL.Addr().String(),
		"tls", server.TLS != nil, "h2c", server.H2C)
	if demo != nil {
		demo.announce(logger, proxyL.Addr())
	}
	if lw != nil {
		// The start-up records (the addresses, the demo's keys) are
		// shown at once; later ones are batched.
		_ = lw.Flush()
	}
	if ready != nil {
		ready(proxyL.Addr(), adminL.Addr())
	}
	admin := gateway.Admin(gateway.AdminConfig{Gateway: rl.Current, Metrics: metrics.Handler})
	return serve(ctx, logger, server, rl, proxyL, admin, adminL)
}

// startTelemetry sends traces over OTLP when the file's telemetry section
// or the standard OTEL_* environment variables name a collector
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_SERVICE_NAME, OTEL_PROPAGATORS, OTEL_TRACES_SAMPLER, …); it returns
// nil when neither does. Metrics stay on the admin /metrics for
// Prometheus unless the file turns OTLP metrics on.
func startTelemetry(ctx context.Context, logger *slog.Logger, file *config.File) (*telemetry.Providers, error) {
	cfg, ok := telemetry.FromEnv()
	if file != nil {
		var err error
		if cfg, ok, err = file.TelemetryConfig(); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, nil
	}
	off := false
	if cfg.Metrics == nil {
		cfg.Metrics = &off
	}
	if cfg.Logs == nil {
		cfg.Logs = &off
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "portico-gateway"
	}
	p, err := telemetry.Setup(ctx, cfg)
	if err != nil {
		return nil, err
	}
	logger.Info("exporting traces over OTLP", "endpoint", cfg.Endpoint, "protocol", cmp.Or(cfg.Protocol, telemetry.ProtocolGRPC))
	return p, nil
}

// logDropMetric counts, as portico.log.dropped, the log records lw
// dropped because its output fell behind.
func logDropMetric(m metric.Meter, lw *middleware.LogWriter) error {
	_, err := m.Int64ObservableCounter("portico.log.dropped",
		metric.WithDescription("Log records dropped because the log output fell behind."),
		metric.WithUnit("{record}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(lw.Dropped())) //nolint:gosec // a count of records never reaches 2^63
			return nil
		}))
	return err
}

// serve serves the proxy and admin listeners, and reloads, until ctx is
// done or one of them stops.
func serve(ctx context.Context, logger *slog.Logger, server gateway.ServerConfig, rl *config.Reloader, proxyL net.Listener, admin http.Handler, adminL net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() { errc <- server.Serve(ctx, proxyL, rl) }()
	go func() {
		errc <- gateway.ServerConfig{ShutdownGrace: server.ShutdownGrace, Logger: logger}.Serve(ctx, adminL, admin)
	}()
	go func() { rl.Watch(ctx, 0); errc <- nil }()
	var errs []error
	for range 3 {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
		cancel() // one stopping stops all
	}
	logger.Info("gateway stopped")
	return errors.Join(errs...)
}

// Make sure the handler types line up with net/http.
var _ http.Handler = (*config.Reloader)(nil)
