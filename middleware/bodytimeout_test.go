package middleware_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

// readResult is what a handler learned from reading the request body.
type readResult struct {
	n         int
	err       error
	timedOut  bool // the read failed with ErrBodyTimeout
	causeSeen bool // the request context was canceled with ErrBodyTimeout
}

// reader is a handler that reads the whole body, reports it, and answers
// 200 with the byte count when the read succeeded.
func reader(got chan<- readResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- readResult{
			n:         len(b),
			err:       err,
			timedOut:  errors.Is(err, middleware.ErrBodyTimeout),
			causeSeen: errors.Is(context.Cause(r.Context()), middleware.ErrBodyTimeout),
		}
		if err == nil {
			fmt.Fprint(w, len(b))
		}
	})
}

// rawConn opens a connection to srv and sends a request head announcing
// a body of length bytes, and the first part of that body.
func rawConn(t *testing.T, srv *httptest.Server, length int, first string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: %d\r\n\r\n%s", length, first)
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// readResponse reads one response from c, failing after a generous bound.
func readResponse(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response within 10s: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// closedSoon reports whether the server closes c within a generous bound.
func closedSoon(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

// trickle writes one byte to c every interval until stop is closed or a
// write fails.
func trickle(c net.Conn, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}
}

func TestBodyTimeoutCutsSlowBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      middleware.BodyTimeoutConfig
		interval time.Duration // between bytes after the first; 0 sends nothing more
		reason   string
	}{
		{name: "a body that stalls past the stall limit is cut",
			cfg: middleware.BodyTimeoutConfig{Stall: 200 * time.Millisecond}, reason: "no bytes for 200ms"},
		{
			name:     "a body that trickles below the minimum rate is cut",
			cfg:      middleware.BodyTimeoutConfig{Stall: time.Minute, MinRate: 1000, Grace: 100 * time.Millisecond},
			interval: 20 * time.Millisecond,
			reason:   "slower than 1000 bytes per second",
		},
		{
			name:     "a body that takes longer than the total is cut",
			cfg:      middleware.BodyTimeoutConfig{Stall: time.Minute, MinRate: -1, Total: 300 * time.Millisecond},
			interval: 10 * time.Millisecond,
			reason:   "longer than 300ms in all",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan readResult, 1)
			srv := serve(t, middleware.BodyTimeout(tt.cfg)(reader(got)))
			c := rawConn(t, srv, 1<<20, "x")
			stop := make(chan struct{})
			defer close(stop)
			if tt.interval > 0 {
				go trickle(c, tt.interval, stop)
			}
			res, body := readResponse(t, c)
			if got, want := res.StatusCode, http.StatusRequestTimeout; got != want {
				t.Fatalf("status = %d, want %d (%s)", got, want, body)
			}
			if !strings.Contains(body, tt.reason) {
				t.Errorf("detail %q does not say %q", body, tt.reason)
			}
			if !res.Close {
				t.Error("the 408 does not say Connection: close")
			}
			r := <-got
			if !r.timedOut {
				t.Errorf("the handler's read failed with %v, want ErrBodyTimeout", r.err)
			}
			if !r.causeSeen {
				t.Error("the request context was not canceled with ErrBodyTimeout")
			}
			if !closedSoon(c) {
				t.Error("the connection stayed open after the 408")
			}
		})
	}
}

func TestBodyTimeoutLetsBodiesThrough(t *testing.T) {
	t.Parallel()
	const stall = 300 * time.Millisecond
	t.Run("a steady upload longer than the stall window passes", func(t *testing.T) {
		t.Parallel()
		// The upload lasts two windows with a write every fifteenth of
		// one (200ms): a loaded machine that does not run the writer, or
		// the reader, for two seconds still does not stall it.
		const window = 3 * time.Second
		got := make(chan readResult, 1)
		srv := serve(t, middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: window})(reader(got)))
		const chunks, size = 30, 512
		pr, pw := io.Pipe()
		go func() {
			for range chunks {
				if _, err := pw.Write([]byte(strings.Repeat("u", size))); err != nil {
					return
				}
				time.Sleep(window / 15)
			}
			pw.Close()
		}()
		req := newRequest(t, http.MethodPost, srv.URL, pr)
		req.ContentLength = chunks * size
		res, body := do(t, srv, req)
		if got, want := res.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d (%s)", got, want, body)
		}
		if got, want := string(body), fmt.Sprint(chunks*size); got != want {
			t.Errorf("the handler read %s bytes, want %s", got, want)
		}
	})
	t.Run("a handler that reads late is not held against the client", func(t *testing.T) {
		t.Parallel()
		// The handler reads twice the stall window and twice the grace
		// late: counted against the client, either would cut the body.
		// Both are two seconds, so the read of the buffered body, which
		// a loaded machine may not finish for a second, is not cut.
		const window = 2 * time.Second
		got := make(chan readResult, 1)
		late := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2 * window)
			reader(got).ServeHTTP(w, r)
		})
		srv := serve(t, middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: window, Grace: window})(late))
		res, body := do(t, srv, newRequest(t, http.MethodPost, srv.URL, strings.NewReader("hello")))
		if got, want := res.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d (%s)", got, want, body)
		}
	})
	t.Run("a skipped request may stall", func(t *testing.T) {
		t.Parallel()
		got := make(chan readResult, 1)
		skip := func(r *http.Request) bool { return r.Header.Get("X-Stream") != "" }
		srv := serve(t, middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: stall, Skip: skip})(reader(got)))
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("a"))
			time.Sleep(3 * stall)
			pw.Write([]byte("b"))
			pw.Close()
		}()
		res, body := do(t, srv, newRequest(t, http.MethodPost, srv.URL, pr, "X-Stream", "1"))
		if got, want := res.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d (%s)", got, want, body)
		}
	})
}

func TestBodyTimeoutBoundsTheBodyAHandlerLeavesUnread(t *testing.T) {
	t.Parallel()
	// The HTTP/1 server reads an unread body before it answers; without a
	// bound, a stalled client holds the answer and the connection forever.
	srv := serve(t, middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: 200 * time.Millisecond})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body.Read(make([]byte, 1)) // the handler starts reading, then gives up
			http.Error(w, "no", http.StatusUnauthorized)
		})))
	c := rawConn(t, srv, 100, "x")
	res, _ := readResponse(t, c)
	if got, want := res.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if !closedSoon(c) {
		t.Error("the connection stayed open with the body unread")
	}
}

func TestBodyTimeoutDoesNotCutTheResponseStream(t *testing.T) {
	t.Parallel()
	const stall = 100 * time.Millisecond
	const events = 5
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(stall):
			}
		}
	})
	srv := serve(t, middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: stall})(h))
	res, body := do(t, srv, newRequest(t, http.MethodPost, srv.URL, strings.NewReader("subscribe")))
	if got, want := strings.Count(string(body), "data: "), events; got != want {
		t.Errorf("%d events after a body, want %d (status %d)", got, want, res.StatusCode)
	}
}

func TestBodyTimeoutOverHTTP2(t *testing.T) {
	t.Parallel()
	const stall = 200 * time.Millisecond
	start := func(t *testing.T, h http.Handler) *httptest.Server {
		srv := httptest.NewUnstartedServer(middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: stall})(h))
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	t.Run("a stalled body is cut with 408", func(t *testing.T) {
		t.Parallel()
		got := make(chan readResult, 1)
		srv := start(t, reader(got))
		pr, pw := io.Pipe()
		defer pw.Close()
		go pw.Write([]byte("x"))
		res, body := do(t, srv, newRequest(t, http.MethodPost, srv.URL, pr))
		if got, want := res.ProtoMajor, 2; got != want {
			t.Fatalf("ProtoMajor = %d, want %d", got, want)
		}
		if got, want := res.StatusCode, http.StatusRequestTimeout; got != want {
			t.Fatalf("status = %d, want %d (%s)", got, want, body)
		}
		if r := <-got; !r.timedOut {
			t.Errorf("the handler's read failed with %v, want ErrBodyTimeout", r.err)
		}
	})
	t.Run("once the response has started the client may pause", func(t *testing.T) {
		t.Parallel()
		duplex := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			b, err := io.ReadAll(r.Body)
			if err != nil {
				fmt.Fprint(w, err)
				return
			}
			fmt.Fprint(w, string(b))
		})
		srv := start(t, duplex)
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("a"))
			time.Sleep(3 * stall)
			pw.Write([]byte("b"))
			pw.Close()
		}()
		_, body := do(t, srv, newRequest(t, http.MethodPost, srv.URL, pr))
		if got, want := string(body), "ab"; got != want {
			t.Errorf("the handler read %q, want %q", got, want)
		}
	})
}

func TestBodyTimeoutPanicsOnNegativeLimits(t *testing.T) {
	t.Parallel()
	for _, cfg := range []middleware.BodyTimeoutConfig{{Grace: -time.Second}, {Total: -time.Second}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("BodyTimeout(%+v) did not panic", cfg)
				}
			}()
			middleware.BodyTimeout(cfg)
		}()
	}
}

func TestBodyTimeoutLeavesAHijackedConnectionAlone(t *testing.T) {
	t.Parallel()
	const stall = 100 * time.Millisecond
	srv := serve(t, middleware.BodyTimeout(middleware.BodyTimeoutConfig{Stall: stall})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			// The connection outlives the handler, and waits on the
			// client longer than the stall limit: it is the handler's.
			go func() {
				defer c.Close()
				b := make([]byte, 5)
				if _, err := io.ReadFull(brw, b); err != nil {
					fmt.Fprintf(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n%s", b)
			}()
		})))
	c := rawConn(t, srv, 5, "")
	time.Sleep(3 * stall)
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	res, body := readResponse(t, c)
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := body, "hello"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}
