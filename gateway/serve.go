package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves h on l until ctx is done, then shuts down gracefully: it
// stops accepting connections, lets requests in flight finish for up to
// grace (30s if zero), and then closes the remaining connections. It
// returns nil after a graceful stop, or the error that stopped the
// server. The server gets timeouts fit for a gateway: 10s to read request
// headers and 2 minutes of idle keep-alive; bodies and responses are not
// bounded, so streams and large uploads pass.
func Serve(ctx context.Context, l net.Listener, h http.Handler, grace time.Duration) error {
	if grace <= 0 {
		grace = 30 * time.Second
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
