// Command gateway runs a Portico gateway.
//
// With no flags it needs nothing else: it starts two small demo services
// on loopback ports (users, with two instances, and orders) and routes to
// them with the embedded default configuration:
//
//	go run ./examples/gateway
//	curl -i localhost:8080/api/users
//	curl -N localhost:8080/api/orders/events
//	curl -s 127.0.0.1:9090/routes
//
// With -config it serves your own file instead (see gateway.example.yaml),
// reloading it on SIGHUP or when the file changes.
package main

import (
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

	"github.com/portico-dev/portico/gateway"
)

//go:embed default.yaml
var defaultConfig []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the gateway and serves until ctx is done. ready, if not
// nil, receives the proxy and admin addresses once both listen.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(proxy, admin net.Addr)) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8080", "proxy listen address")
	adminAddr := fs.String("admin-addr", "127.0.0.1:9090", "admin listen address (/healthz, /readyz, /metrics, /routes, /upstreams, /apis/)")
	configPath := fs.String("config", "", "configuration file (YAML or JSON); if empty, the embedded demo configuration with its demo services")
	grace := fs.Duration("shutdown-grace", 0, "how long in-flight requests may finish on shutdown (default: the config's server.shutdown_grace, else 30s)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	metrics, err := gateway.NewMetrics()
	if err != nil {
		return err
	}
	defer func() { _ = metrics.Shutdown(context.WithoutCancel(ctx)) }()
	opts := []gateway.Option{gateway.WithLogger(logger), gateway.WithMeterProvider(metrics.Provider)}

	rc := gateway.ReloadConfig{Logger: logger, Path: *configPath}
	if *configPath != "" {
		rc.Load = func() (*gateway.Gateway, error) { return gateway.LoadConfig(*configPath, opts...) }
	} else {
		demo, err := startDemo(logger)
		if err != nil {
			return err
		}
		defer demo.close()
		rc.Load = func() (*gateway.Gateway, error) {
			c, err := gateway.ParseConfig("default.yaml", defaultConfig, demo.env)
			if err != nil {
				return nil, err
			}
			return c.Build(opts...)
		}
	}
	// The listener's protocols, limits and TLS (with the client
	// certificates it requires) are read once: a reload changes routes and
	// policies, not the listener.
	var server gateway.ServerConfig
	if *configPath != "" {
		c, err := gateway.ReadConfig(*configPath)
		if err != nil {
			return err
		}
		if server, err = c.ServerConfig(); err != nil {
			return err
		}
	}
	if *grace > 0 {
		server.ShutdownGrace = *grace
	}
	server.Logger = logger
	rl, err := gateway.NewReloader(rc)
	if err != nil {
		return err
	}
	defer func() { _ = rl.Close() }()

	var lc net.ListenConfig
	proxyL, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	adminL, err := lc.Listen(ctx, "tcp", *adminAddr)
	if err != nil {
		_ = proxyL.Close()
		return err
	}
	logger.Info("gateway listening", "addr", proxyL.Addr().String(), "admin", adminL.Addr().String(),
		"tls", server.TLS != nil, "h2c", server.H2C)
	if *configPath == "" {
		key := os.Getenv("DEMO_API_KEY")
		if key == "" {
			key = "portico-demo-key"
		}
		logger.Info("demo consumer for local trial only: its key is public", "api_key", key,
			"try", "curl "+proxyL.Addr().String()+"/v1/chat/completions -H 'Authorization: Bearer "+key+
				"' -d '{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'")
	}
	if ready != nil {
		ready(proxyL.Addr(), adminL.Addr())
	}
	admin := gateway.Admin(gateway.AdminConfig{Gateway: rl.Current, Metrics: metrics.Handler})

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
var _ http.Handler = (*gateway.Reloader)(nil)
