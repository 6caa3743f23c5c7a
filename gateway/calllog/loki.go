package calllog

import (
	"bytes"
	"compress/gzip"
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
	// Gzip compresses each push (Content-Encoding: gzip), which Loki and
	// the other receivers of its push API accept: batches of call records,
	// much alike, shrink several times over. By default, pushes are sent
	// uncompressed.
	Gzip bool
}

// Loki returns a [Sink] that pushes each batch to Grafana Loki's push API
// (JSON, gzipped with [LokiConfig.Gzip]), which any receiver of that API
// takes: Grafana Loki, VictoriaLogs (URL http://host:9428/insert), Grafana
// Alloy, the OpenTelemetry Collector's loki receiver. Every record goes to
// the stream labelled by its tenant, api and status_class ("2xx" … "5xx")
// plus the static labels (a call without a tenant or an API has no such
// label, as Loki reads an empty label as no label); the line is the record
// as JSON, with everything else (route, consumer, latency, trace ID,
// tokens, …), so LogQL's json parser reads it. Labels stay few on purpose:
// per-request values as labels would explode Loki's index.
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
			labels["status_class"] = k.class
			if k.tenant != "" {
				labels["tenant"] = k.tenant
			}
			if k.api != "" {
				labels["api"] = k.api
			}
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
	body, err := s.encode(order)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
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

// encode returns the push body of streams: JSON, gzipped if asked.
func (s *lokiSink) encode(streams []*lokiStream) ([]byte, error) {
	doc := map[string]any{"streams": streams}
	if !s.cfg.Gzip {
		return json.Marshal(doc)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(doc); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// statusClass is "2xx" for 200 to 299 and so on; "0xx" for no status.
func statusClass(status int) string {
	return strconv.Itoa(status/100) + "xx"
}
