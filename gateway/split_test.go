package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway"
)

func TestCanarySplitAndPinning(t *testing.T) {
	t.Parallel()
	var stable, canary atomic.Int64
	_, gw := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "stable", counted(t, "stable", &stable)), upstreamOf(t, "canary", counted(t, "canary", &canary))),
		gateway.WithRoute(gateway.Route{Prefix: "/", Split: []gateway.Backend{{Upstream: "stable", Weight: 80}, {Upstream: "canary", Weight: 20}},
			Pin: &gateway.Pin{Header: "X-Pin", Cookie: "side"}}))
	send := func(mod func(*http.Request)) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/", nil)
		if mod != nil {
			mod(req)
		}
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("weights split the traffic", func(t *testing.T) {
		const n = 2000
		for range n {
			send(nil)
		}
		got := float64(canary.Load()) / n
		if !within(got, 0.2, 0.05) {
			t.Errorf("canary share = %.3f, want 0.20 ± 0.05", got)
		}
	})
	t.Run("a pin header chooses the side", func(t *testing.T) {
		for range 20 {
			if got := send(func(r *http.Request) { r.Header.Set("X-Pin", "canary") }).Header.Get("X-Served-By"); got != "canary" {
				t.Fatalf("pinned to canary, served by %q", got)
			}
		}
	})
	t.Run("an unpinned client gets a cookie that keeps it on its side", func(t *testing.T) {
		resp := send(nil)
		side := resp.Header.Get("X-Served-By")
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "side" {
				cookie = c
			}
		}
		if cookie == nil {
			t.Fatalf("no side cookie, want one naming %q", side)
		}
		if got, want := cookie.Value, side; got != want {
			t.Fatalf("side cookie %q, want %q", got, want)
		}
		for range 50 {
			r := send(func(r *http.Request) { r.AddCookie(cookie) })
			if got := r.Header.Get("X-Served-By"); got != side {
				t.Fatalf("cookie for %s, served by %s", side, got)
			}
			if len(r.Cookies()) != 0 {
				t.Fatal("a pinned client was given a new cookie")
			}
		}
	})
}

func TestMirrorNeverChangesOrDelaysThePrimary(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	var shadowIn, shadowMax, shadowSeen atomic.Int64
	var bodies sync.Map
	shadow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := shadowIn.Add(1)
		defer shadowIn.Add(-1)
		for m := shadowMax.Load(); n > m && !shadowMax.CompareAndSwap(m, n); m = shadowMax.Load() {
		}
		b, _ := io.ReadAll(r.Body)
		bodies.Store(string(b), true)
		shadowSeen.Add(1)
		select {
		case <-hold: // the shadow is stuck until the test ends
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	primary := echoServer(t, "primary")
	g, gw := newGateway(t,
		gateway.WithUpstream(upstreamOf(t, "primary", primary), upstreamOf(t, "shadow", shadow)),
		gateway.WithRoute(gateway.Route{Prefix: "/", Upstream: "primary", Mirror: &gateway.Mirror{Upstream: "shadow", MaxConcurrent: 4, Timeout: time.Minute}}))
	t.Cleanup(func() {
		close(hold)
		g.Close()
		shadow.Close()
	})

	for i := range 20 {
		body := strings.Repeat("x", i+1)
		resp, err := gw.Client().Post(gw.URL+"/orders?i=1", "text/plain", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("request %d: status %d, want %d", i, got, want)
		}
		if got, want := resp.Header.Get("X-Served-By"), "primary"; got != want {
			t.Fatalf("request %d: served by %q, want %q", i, got, want)
		}
		if !strings.Contains(string(b), `"path":"/orders"`) {
			t.Fatalf("request %d: primary answered %q, want the echo of /orders", i, b)
		}
	}
	// The shadow got copies with their bodies, never more than the bound
	// at once, while every primary request completed.
	deadline := time.Now().Add(20 * time.Second)
	for shadowSeen.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if shadowSeen.Load() < 4 {
		t.Errorf("shadow saw %d copies, want at least 4", shadowSeen.Load())
	}
	if _, ok := bodies.Load("x"); !ok {
		t.Error("the first copy's body did not reach the shadow")
	}
	if m := shadowMax.Load(); m > 4 {
		t.Errorf("%d copies in flight at once, bound is 4", m)
	}
}
