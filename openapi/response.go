package openapi

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/portico-dev/portico/internal/problem"
)

// responseFor returns the documented response for status: the exact code,
// then its range ("2XX"), then "default".
func (o *Operation) responseFor(status int) (*responseSpec, bool) {
	if rs, ok := o.responses[strconv.Itoa(status)]; ok {
		return rs, true
	}
	if rs, ok := o.responses[strconv.Itoa(status/100)+"XX"]; ok {
		return rs, true
	}
	rs, ok := o.responses["DEFAULT"]
	return rs, ok
}

// checkHead validates the status and Content-Type of a response and
// returns the media entry the body must match (nil when the body is not
// checked) with its kind and parameters.
func (o *Operation) checkHead(status int, h http.Header) (*media, mediaKind, map[string]string, []Violation) {
	if len(o.responses) == 0 {
		return nil, kindOther, nil, nil
	}
	rs, ok := o.responseFor(status)
	if !ok {
		return nil, kindOther, nil, []Violation{{In: "status", Message: fmt.Sprintf("status %d is not documented for %s", status, o)}}
	}
	var out []Violation
	for _, p := range rs.headers {
		vals := h.Values(p.name)
		if len(vals) == 0 {
			if p.required {
				out = append(out, Violation{In: "header", Name: p.name, Message: "is required", Keyword: "required"})
			}
			continue
		}
		val, _, err := p.decodeSimple(strings.Join(vals, ","))
		switch {
		case err != nil:
			out = append(out, Violation{In: "header", Name: p.name, Message: err.Error(), Keyword: "style"})
		case p.compiled != nil:
			out = append(out, p.compiled.violations(val, "header", p.name)...)
		}
	}
	ct := h.Get("Content-Type")
	if ct == "" || len(rs.media) == 0 {
		return nil, kindOther, nil, out
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, kindOther, nil, append(out, Violation{In: "header", Name: "Content-Type", Message: "is malformed"})
	}
	m := matchMedia(rs.media, mt)
	if m == nil {
		return nil, kindOther, nil, append(out, Violation{In: "header", Name: "Content-Type", Message: fmt.Sprintf("%s is not documented; the operation returns %s", mt, accepted(rs.media))})
	}
	return m, kindOf(mt), params, out
}

// ValidateResponse checks a complete response to a request for op: its
// status, Content-Type and body. The error is a [*ValidationError] with
// status 502 when the response breaks the contract.
func (v *Validator) ValidateResponse(op *Operation, status int, h http.Header, body []byte) error {
	m, k, params, out := op.checkHead(status, h)
	if m != nil && len(body) > 0 {
		out = append(out, validateBody(m, k, params, body)...)
	}
	if len(out) > 0 {
		return &ValidationError{Status: http.StatusBadGateway, Detail: "the response does not match the API contract", Violations: out}
	}
	return nil
}

type recState int

const (
	pending   recState = iota // no header written yet
	buffering                 // enforcing: holding the response until it is checked
	passing                   // header sent; body flows through
	failing                   // enforcing: the header broke the contract, body discarded
	hijacked                  // the connection was taken over
)

// recorder sits between a handler and the client to check the response.
// In enforce mode it holds a checkable response (bounded) until it is
// complete; in report mode it forwards everything at once and keeps a
// bounded copy. Streams are never held.
type recorder struct {
	w       http.ResponseWriter
	r       *http.Request
	v       *Validator
	op      *Operation
	state   recState
	status  int
	buf     bytes.Buffer
	copying bool // keep the body in buf to check it at the end
	media   *media
	kind    mediaKind
	params  map[string]string
	viol    []Violation
}

func newRecorder(w http.ResponseWriter, r *http.Request, v *Validator, op *Operation) *recorder {
	return &recorder{w: w, r: r, v: v, op: op}
}

// Header returns the response header map.
func (rw *recorder) Header() http.Header { return rw.w.Header() }

// Unwrap returns the wrapped writer for http.ResponseController.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.w }

// WriteHeader checks the status and Content-Type and decides whether the
// body is held, copied or passed through.
func (rw *recorder) WriteHeader(status int) {
	if rw.state != pending {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(status)
		return
	}
	rw.status = status
	h := rw.w.Header()
	rw.media, rw.kind, rw.params, rw.viol = rw.op.checkHead(status, h)
	checkable := rw.media != nil && rw.media.compiled != nil && rw.kind != kindOther && !isStream(h, rw.v.cfg.responseLimit)
	if rw.v.cfg.responses == ResponsesEnforce {
		switch {
		case len(rw.viol) > 0:
			rw.state = failing
		case checkable:
			rw.state, rw.copying = buffering, true
		default:
			rw.state = passing
			rw.w.WriteHeader(status)
		}
		return
	}
	rw.state, rw.copying = passing, checkable
	rw.w.WriteHeader(status)
}

func isStream(h http.Header, limit int64) bool {
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "text/event-stream" {
		return true
	}
	if cl, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && cl > limit {
		return true
	}
	return false
}

// Write passes, holds or discards p according to the state.
func (rw *recorder) Write(p []byte) (int, error) {
	if rw.state == pending {
		rw.WriteHeader(http.StatusOK)
	}
	switch rw.state {
	case failing:
		return len(p), nil
	case buffering:
		if int64(rw.buf.Len()+len(p)) <= rw.v.cfg.responseLimit {
			return rw.buf.Write(p)
		}
		// Over the limit: stop holding, send what we have, skip the check.
		if err := rw.release(); err != nil {
			return 0, err
		}
	case passing:
		if rw.copying {
			if int64(rw.buf.Len()+len(p)) <= rw.v.cfg.responseLimit {
				rw.buf.Write(p)
			} else {
				rw.copying = false
				rw.buf = bytes.Buffer{}
			}
		}
	}
	return rw.w.Write(p)
}

// release sends a held response as it is and stops checking its body.
func (rw *recorder) release() error {
	rw.state, rw.copying = passing, false
	rw.w.WriteHeader(rw.status)
	_, err := rw.w.Write(rw.buf.Bytes())
	rw.buf = bytes.Buffer{}
	return err
}

// Flush marks the response as a stream: it is sent at once and its body is
// not checked.
func (rw *recorder) Flush() {
	_ = rw.FlushError()
}

// FlushError is Flush for http.ResponseController.
func (rw *recorder) FlushError() error {
	if rw.state == pending {
		rw.WriteHeader(http.StatusOK)
	}
	switch rw.state {
	case failing:
		return nil
	case buffering:
		if err := rw.release(); err != nil {
			return err
		}
	case passing:
		rw.copying = false
		rw.buf = bytes.Buffer{}
	}
	return http.NewResponseController(rw.w).Flush()
}

// Hijack hands the connection over to the handler; nothing is checked.
func (rw *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.state = hijacked
	}
	return conn, brw, err
}

// finish checks the complete response and sends or replaces it.
func (rw *recorder) finish() {
	if rw.state == pending {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.copying && rw.buf.Len() > 0 {
		rw.viol = append(rw.viol, validateBody(rw.media, rw.kind, rw.params, rw.buf.Bytes())...)
	}
	if len(rw.viol) > 0 {
		rw.v.reportResponse(rw.r.Context(), rw.op, rw.status, rw.viol)
	}
	switch rw.state {
	case buffering:
		if len(rw.viol) == 0 {
			rw.w.WriteHeader(rw.status)
			_, _ = rw.w.Write(rw.buf.Bytes())
			return
		}
		rw.replace()
	case failing:
		rw.replace()
	}
}

// replace answers 502 instead of the response that broke the contract.
func (rw *recorder) replace() {
	h := rw.w.Header()
	for k := range h {
		delete(h, k)
	}
	p := problem.New(http.StatusBadGateway, "the upstream response does not match the API contract").With("errors", rw.viol)
	problem.Write(rw.w, rw.r, p)
}

func (v *Validator) reportResponse(ctx context.Context, op *Operation, status int, viol []Violation) {
	v.violation.Add(ctx, 1, metric.WithAttributes(
		attribute.String("http.route", op.Path),
		attribute.String("http.request.method", op.Method),
		attribute.Int("http.response.status_code", status),
		attribute.String("portico.openapi.mode", v.cfg.responses.String()),
	))
	if v.cfg.logger.Enabled(ctx, slog.LevelWarn) {
		msgs := make([]string, len(viol))
		for i, x := range viol {
			msgs[i] = x.String()
		}
		v.cfg.logger.WarnContext(ctx, "portico/openapi: response breaks the API contract",
			slog.String("operation", op.String()), slog.String("operation_id", op.ID),
			slog.Int("status", status), slog.Any("violations", msgs))
	}
}
