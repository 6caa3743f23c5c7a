package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// LokiConfig configures [Loki].
type LokiConfig struct {
	// URL is Loki's base URL, such as "http://loki:3100"; records are
	// pushed to URL + "/loki/api/v1/push".
	URL string
	// Client sends the pushes. If nil, a client with a 10 s timeout is used.
	Client *http.Client
	// Headers are sent with every push, such as X-Scope-OrgID for a
	// multi-tenant Loki or Authorization.
	Headers map[string]string
	// Labels are static labels added to every stream, such as
	// {"job": "portico"}. By default, job="portico".
	Labels map[string]string
}

// Loki returns a [Sink] that pushes each batch to Grafana Loki's push API
// (JSON). Every record goes to the stream labelled by its tenant, api and
// status_class ("2xx" … "5xx") plus the static labels; the line is the
// record as JSON, with everything else (route, consumer, latency, trace
// ID, tokens, …), so LogQL's json parser reads it. Labels stay few on
// purpose: per-request values as labels would explode Loki's index.
//
// A push is one HTTP request; wrap the sink in [Async] so a slow Loki
// never delays the other sinks. It panics if URL is empty.
func Loki(cfg LokiConfig) Sink {
	if cfg.URL == "" {
		panic("portico/calllog: Loki needs a URL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Labels) == 0 {
		cfg.Labels = map[string]string{"job": "portico"}
	}
	return &lokiSink{cfg: cfg, url: strings.TrimSuffix(cfg.URL, "/") + "/loki/api/v1/push"}
}

type lokiSink struct {
	cfg LokiConfig
	url string
}

type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

type lokiKey struct{ tenant, api, class string }

func (s *lokiSink) Write(ctx context.Context, batch []Record) error {
	streams := map[lokiKey]*lokiStream{}
	var order []*lokiStream
	for i := range batch {
		r := &batch[i]
		k := lokiKey{r.Tenant, r.API, statusClass(r.Status)}
		st := streams[k]
		if st == nil {
			labels := maps.Clone(s.cfg.Labels)
			labels["tenant"], labels["api"], labels["status_class"] = k.tenant, k.api, k.class
			st = &lokiStream{Stream: labels}
			streams[k] = st
			order = append(order, st)
		}
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		st.Values = append(st.Values, [2]string{strconv.FormatInt(r.Time.UnixNano(), 10), string(line)})
	}
	body, err := json.Marshal(map[string]any{"streams": order})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("portico/calllog: loki push: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("portico/calllog: loki push: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// statusClass is "2xx" for 200 to 299 and so on; "0xx" for no status.
func statusClass(status int) string {
	return strconv.Itoa(status/100) + "xx"
}
