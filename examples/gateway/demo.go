package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/grpctest"
)

// demo holds the in-process demo services the default configuration
// routes to, and the variables it reads.
type demo struct {
	servers []*http.Server
	shelf   *grpctest.Server  // the gRPC demo service
	vars    map[string]string // the services' addresses, the operator key
	lookup  func(string) (string, bool)
	// generated is set when the operator key was made up at start-up,
	// adminGenerated when the admin token was.
	generated, adminGenerated bool
	// dataDir holds the platform's file, removed by close.
	dataDir string
}

// The variables of the demo configuration that hold its two keys.
const (
	demoKeyVar     = "DEMO_API_KEY"    // the public demo key: the demo model only
	operatorKeyVar = "PORTICO_API_KEY" // the operator key: every model
)

// startDemo starts users (two instances), orders and the Shelf gRPC
// service (with server reflection) on loopback ports,
// and settles the operator key: env's PORTICO_API_KEY, or a random one.
func startDemo(logger *slog.Logger, env func(string) (string, bool)) (*demo, error) {
	d := &demo{vars: map[string]string{}, lookup: env}
	d.generated = d.setKey(operatorKeyVar, "portico-op-")
	d.adminGenerated = d.setKey(adminKeyVar, "portico-admin-")
	dir, err := os.MkdirTemp("", "portico-demo-")
	if err != nil {
		return nil, err
	}
	d.dataDir = dir
	d.vars["DEMO_PLATFORM_FILE"] = filepath.Join(dir, "platform.db")
	var lc net.ListenConfig
	for _, s := range []struct {
		key string
		h   http.Handler
	}{
		{"DEMO_USERS_1", usersService("users-1")},
		{"DEMO_USERS_2", usersService("users-2")},
		{"DEMO_ORDERS", ordersService()},
		{"DEMO_PAYMENTS", paymentsService()},
	} {
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			d.close()
			return nil, err
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
		d.servers = append(d.servers, srv)
		d.vars[s.key] = "http://" + l.Addr().String()
		d.vars[s.key+"_PORT"] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		go func() {
			if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
				logger.Error("demo service stopped", "error", err)
			}
		}()
	}
	shelf, err := grpctest.Run(grpctest.Options{})
	if err != nil {
		d.close()
		return nil, err
	}
	d.shelf = shelf
	d.vars["DEMO_SHELF"] = shelf.URL
	return d, nil
}

// setKey takes the key named name from the environment, or makes one up
// with prefix, and reports whether it made it up.
func (d *demo) setKey(name, prefix string) bool {
	if k, ok := d.lookup(name); ok && k != "" {
		d.vars[name] = k
		return false
	}
	d.vars[name] = prefix + rand.Text()
	return true
}

// env resolves ${VAR} in the default configuration: the demo's own
// variables, then the environment.
func (d *demo) env(name string) (string, bool) {
	if v, ok := d.vars[name]; ok {
		return v, true
	}
	return d.lookup(name)
}

// lazyDemo starts the demo services the first time a configuration file
// names one of their ${DEMO_*} variables that the environment does not
// set, so that the example configuration runs against them on loopback.
type lazyDemo struct {
	logger *slog.Logger
	env    func(string) (string, bool)

	once sync.Once
	d    *demo
	err  error
}

// lookup resolves a configuration variable: the environment's, else a
// demo service's address.
func (l *lazyDemo) lookup(name string) (string, bool) {
	if v, ok := l.env(name); ok || !strings.HasPrefix(name, "DEMO_") {
		return v, ok
	}
	l.once.Do(func() { l.d, l.err = startDemo(l.logger, l.env) })
	if l.err != nil {
		l.logger.Error("starting the demo services", "error", l.err)
		return "", false
	}
	v, ok := l.d.vars[name]
	return v, ok
}

// close stops the demo services, if they were started.
func (l *lazyDemo) close() {
	l.once.Do(func() {}) // wait for a start in progress, or prevent one
	if l.d != nil {
		l.d.close()
	}
}

// warnBeyondLoopback warns when the proxy listens beyond loopback, where
// the public demo key is anyone's.
func warnBeyondLoopback(logger *slog.Logger, proxy net.Addr) {
	if a, ok := proxy.(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		logger.Warn("the demo configuration listens beyond loopback, where its public demo key is anyone's: " +
			"serve your own configuration with -config, or drop -addr to listen on 127.0.0.1:8080")
	}
}

func (d *demo) close() {
	for _, s := range d.servers {
		_ = s.Close()
	}
	if d.shelf != nil {
		d.shelf.Stop()
	}
	if d.dataDir != "" {
		_ = os.RemoveAll(d.dataDir)
	}
}

type user struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

var users = []user{{1, "Ada"}, {2, "Grace"}, {3, "Linus"}}

func usersService(instance string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		reply(w, instance, map[string]any{"instance": instance, "users": users})
	})
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, u := range users {
			if fmt.Sprint(u.ID) == r.PathValue("id") {
				reply(w, instance, map[string]any{"instance": instance, "user": u})
				return
			}
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"title":"Not Found","status":404,"detail":"no user %s"}`+"\n", r.PathValue("id"))
	})
	return mux
}

func ordersService() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "orders", map[string]any{"id": r.PathValue("id"), "status": "shipped", "forwarded_for": r.Header.Get("X-Forwarded-For")})
	})
	// A server-sent event stream: one event a second, five in all.
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		for i := 1; i <= 5; i++ {
			_, _ = fmt.Fprintf(w, "id: %d\nevent: order\ndata: {\"order\":%d,\"status\":\"packed\"}\n\n", i, 1000+i)
			if err := rc.Flush(); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
	return mux
}

// paymentsService stands in for the example configuration's payments
// service: it answers every path with a receipt.
func paymentsService() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "payments", map[string]any{"path": r.URL.Path, "status": "authorized"})
	})
	return mux
}

func reply(w http.ResponseWriter, instance string, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Instance", instance)
	_ = json.NewEncoder(w).Encode(v)
}
