package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	// generated is set when the operator key was made up at start-up.
	generated bool
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
	if k, ok := env(operatorKeyVar); ok && k != "" {
		d.vars[operatorKeyVar] = k
	} else {
		d.vars[operatorKeyVar], d.generated = "portico-op-"+rand.Text(), true
	}
	var lc net.ListenConfig
	for _, s := range []struct {
		key string
		h   http.Handler
	}{
		{"DEMO_USERS_1", usersService("users-1")},
		{"DEMO_USERS_2", usersService("users-2")},
		{"DEMO_ORDERS", ordersService()},
	} {
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			d.close()
			return nil, err
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
		d.servers = append(d.servers, srv)
		d.vars[s.key] = "http://" + l.Addr().String()
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

// env resolves ${VAR} in the default configuration: the demo's own
// variables, then the environment.
func (d *demo) env(name string) (string, bool) {
	if v, ok := d.vars[name]; ok {
		return v, true
	}
	return d.lookup(name)
}

// announce logs the two keys, and warns when the proxy listens beyond
// loopback, where the public demo key is anyone's.
func (d *demo) announce(logger *slog.Logger, proxy net.Addr) {
	key, ok := d.lookup(demoKeyVar)
	if !ok || key == "" {
		key = "portico-demo-key"
	}
	logger.Info("demo consumer for local trial only: its key is public and reaches only the demo model", "api_key", key,
		"try", "curl "+proxy.String()+"/v1/chat/completions -H 'Authorization: Bearer "+key+
			"' -d '{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'")
	if d.generated {
		logger.Info("operator key, generated for this run: it reaches every model, the real ones OPENAI_API_KEY, "+
			"ANTHROPIC_API_KEY and GEMINI_API_KEY add too; set "+operatorKeyVar+" to choose it", "api_key", d.vars[operatorKeyVar])
	} else {
		logger.Info("operator key from " + operatorKeyVar + ": it reaches every model")
	}
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

func reply(w http.ResponseWriter, instance string, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Instance", instance)
	_ = json.NewEncoder(w).Encode(v)
}
