package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/portico-dev/portico/middleware"
)

// newHandler returns the API behind the whole middleware chain.
func newHandler(s *store, logger *slog.Logger, cfg config) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Route("/orders", func(r chi.Router) {
		r.Get("/", listOrders(s))
		r.Post("/", createOrder(s))
		r.Get("/events", orderEvents(s))
		r.Get("/{id}", getOrder(s))
		r.Delete("/{id}", deleteOrder(s))
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "No such resource.")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusMethodNotAllowed, "This resource does not support "+r.Method+".")
	})

	health := func(r *http.Request) bool { return r.URL.Path == "/healthz" }
	return middleware.Chain(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Recover(middleware.RecoverConfig{Logger: logger}),
		middleware.ClientIP(middleware.ClientIPConfig{TrustedProxies: cfg.trustedProxies}),
		middleware.Telemetry(middleware.TelemetryConfig{Skip: health}),
		middleware.AccessLog(middleware.AccessLogConfig{Logger: logger, Skip: health}),
		middleware.BodyLimit(cfg.maxBody),
		middleware.Timeout(middleware.TimeoutConfig{Timeout: cfg.requestTimeout}),
		middleware.CORS(middleware.CORSConfig{
			AllowedOrigins: cfg.allowedOrigins,
			AllowedMethods: []string{http.MethodDelete},
			ExposedHeaders: []string{"X-Request-ID", "Location"},
		}),
	)(r)
}

func listOrders(s *store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.list())
	}
}

func getOrder(s *store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.get(chi.URLParam(r, "id"))
		if !ok {
			writeProblem(w, r, http.StatusNotFound, "No order has this ID.")
			return
		}
		writeJSON(w, http.StatusOK, o)
	}
}

func createOrder(s *store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Item     string `json:"item"`
			Quantity int    `json:"quantity"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				// BodyLimit answers 413 once we return without writing.
				return
			}
			writeProblem(w, r, http.StatusBadRequest, "The body must be a JSON object with \"item\" and \"quantity\".")
			return
		}
		in.Item = strings.TrimSpace(in.Item)
		switch {
		case in.Item == "":
			writeProblem(w, r, http.StatusUnprocessableEntity, "\"item\" must not be empty.")
			return
		case in.Quantity < 1 || in.Quantity > 1000:
			writeProblem(w, r, http.StatusUnprocessableEntity, "\"quantity\" must be between 1 and 1000.")
			return
		}
		o := s.create(in.Item, in.Quantity)
		w.Header().Set("Location", "/orders/"+o.ID)
		writeJSON(w, http.StatusCreated, o)
	}
}

func deleteOrder(s *store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.delete(chi.URLParam(r, "id")) {
			writeProblem(w, r, http.StatusNotFound, "No order has this ID.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// orderEvents streams each new order as a Server-Sent Event until the
// client leaves or the server shuts down.
func orderEvents(s *store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch, cancel, done := s.subscribe()
		defer cancel()
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, ": subscribed\n\n")
		if err := rc.Flush(); err != nil {
			return
		}
		for {
			select {
			case o := <-ch:
				data, _ := json.Marshal(o)
				_, _ = fmt.Fprintf(w, "event: order\nid: %s\ndata: %s\n\n", o.ID, data)
				if err := rc.Flush(); err != nil {
					return
				}
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers with an RFC 9457 problem document carrying the
// request ID.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":       "about:blank",
		"title":      http.StatusText(status),
		"status":     status,
		"detail":     detail,
		"request_id": middleware.RequestIDFrom(r.Context()),
	})
}
