package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	addr            string
	shutdownTimeout time.Duration
	requestTimeout  time.Duration
	maxBody         int64
	trustedProxies  []netip.Prefix
	allowedOrigins  []string
}

// parseFlags reads the flags; usage goes to out when they are wrong or
// -help is asked for.
func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "address to listen on")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 20*time.Second, "time allowed to drain in-flight requests")
	fs.DurationVar(&c.requestTimeout, "timeout", 10*time.Second, "time a request has to start its response")
	fs.Int64Var(&c.maxBody, "max-body", 64<<10, "largest request body accepted, in bytes")
	proxies := fs.String("trusted-proxies", "", "comma-separated CIDRs of the proxies in front of the service")
	origins := fs.String("cors-origins", "http://localhost:3000", "comma-separated origins allowed to call from browsers")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for p := range strings.SplitSeq(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return c, fmt.Errorf("-trusted-proxies: %q is not a CIDR such as 10.0.0.0/8", p)
		}
		c.trustedProxies = append(c.trustedProxies, prefix)
	}
	for o := range strings.SplitSeq(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.allowedOrigins = append(c.allowedOrigins, o)
		}
	}
	if c.maxBody <= 0 {
		return c, errors.New("-max-body: must be a positive number of bytes")
	}
	return c, nil
}

// run serves until ctx is canceled, then shuts down gracefully. It logs
// JSON to stdout, starting with a "listening" record that holds the
// address.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, nil))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return err
	}
	return serve(ctx, newServer(cfg, logger), ln, cfg.shutdownTimeout, logger)
}

// newServer returns the HTTP server of the API.
func newServer(cfg config, logger *slog.Logger) *http.Server {
	store := newStore()
	srv := &http.Server{
		Handler:           newHandler(store, logger, cfg),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Event streams last as long as their clients; end them when the
	// server shuts down so that draining finishes.
	srv.RegisterOnShutdown(store.close)
	return srv
}

// serve runs srv on ln until ctx is canceled, then stops accepting
// connections and waits up to drain for the requests in flight.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration, logger *slog.Logger) error {
	logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "drain_timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return fmt.Errorf("draining requests: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}
