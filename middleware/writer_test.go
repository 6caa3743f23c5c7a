package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware"
)

func TestResponseWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		write      func(w http.ResponseWriter)
		wantStatus int
		wantBytes  int64
		wantBody   string
	}{
		{name: "nothing written reports status 0", write: func(w http.ResponseWriter) {}, wantStatus: 0},
		{
			name:       "a write without a status reports 200",
			write:      func(w http.ResponseWriter) { _, _ = w.Write([]byte("hello")) },
			wantStatus: 200,
			wantBytes:  5,
			wantBody:   "hello",
		},
		{name: "the first status wins", write: func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, wantStatus: 201},
		{name: "an informational status is not the final one", write: func(w http.ResponseWriter) { w.WriteHeader(http.StatusEarlyHints); w.WriteHeader(http.StatusNoContent) }, wantStatus: 204},
		{
			name:       "WriteString counts bytes",
			write:      func(w http.ResponseWriter) { _, _ = io.WriteString(w, "abc") },
			wantStatus: 200,
			wantBytes:  3,
			wantBody:   "abc",
		},
		{
			name:       "ReadFrom counts bytes",
			write:      func(w http.ResponseWriter) { _, _ = io.Copy(w, strings.NewReader("abcdef")) },
			wantStatus: 200,
			wantBytes:  6,
			wantBody:   "abcdef",
		},
		{name: "a flush alone starts a 200 response", write: func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			rw := middleware.WrapWriter(rec)
			if middleware.WrapWriter(rw) != rw {
				t.Fatal("WrapWriter wrapped a ResponseWriter again")
			}
			tt.write(rw)
			if got, want := rw.Status(), tt.wantStatus; got != want {
				t.Errorf("Status = %d, want %d", got, want)
			}
			if got, want := rw.BytesWritten(), tt.wantBytes; got != want {
				t.Errorf("BytesWritten = %d, want %d", got, want)
			}
			if got, want := rw.Written(), tt.wantStatus != 0; got != want {
				t.Errorf("Written = %v, want %v", got, want)
			}
			if rec.Body.String() != tt.wantBody {
				t.Fatalf("body %q, want %q", rec.Body.String(), tt.wantBody)
			}
			if rw.Unwrap() != rec {
				t.Fatal("Unwrap does not return the wrapped writer")
			}
		})
	}
}

// plainWriter is an http.ResponseWriter with no optional interface.
type plainWriter struct{ http.ResponseWriter }

func TestResponseWriterReportsWhatTheWrappedWriterCannotDo(t *testing.T) {
	t.Parallel()
	rw := middleware.WrapWriter(plainWriter{httptest.NewRecorder()})
	if err := http.NewResponseController(rw).Flush(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Flush = %v, want http.ErrNotSupported", err)
	}
	if _, _, err := rw.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Hijack = %v, want http.ErrNotSupported", err)
	}
	if rw.Hijacked() {
		t.Fatal("a failed Hijack reports the connection hijacked")
	}
}

func TestResponseControllerReachesTheConnectionThroughTheWholeChain(t *testing.T) {
	t.Parallel()
	kit := newOtelKit(t)
	errs := make(chan error, 3)
	h := everything(newDiscardLogger(), kit.cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
		errs <- rc.SetReadDeadline(time.Now().Add(time.Minute))
		errs <- rc.EnableFullDuplex()
	}))
	srv := serve(t, h)
	do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil))
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("ResponseController through the chain: %v", err)
		}
	}
}

func TestHijackThroughResponseWriterMarksTheStatus(t *testing.T) {
	t.Parallel()
	status := make(chan int, 1)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := middleware.WrapWriter(w)
		c, brw, err := rw.Hijack()
		if err != nil {
			status <- -1
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
		_ = brw.Flush()
		_ = c.Close()
		status <- rw.Status()
	}))
	do(t, srv, newRequest(t, http.MethodGet, srv.URL, nil))
	if got := <-status; got != http.StatusSwitchingProtocols {
		t.Fatalf("Status after Hijack = %d, want 101", got)
	}
}
