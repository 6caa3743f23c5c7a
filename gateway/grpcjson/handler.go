package grpcjson

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpcwire"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/internal/sse"
	"github.com/portico-dev/portico/resilience"
)

// Config configures a [Handler].
type Config struct {
	// Files describes the services, from [LoadDescriptorSet] or [Reflect].
	// Required.
	Files *protoregistry.Files
	// Services lists the full names of the services to serve, such as
	// "library.v1.Library". If empty, every service in Files is served
	// except the grpc.* ones (health, reflection).
	Services []string
	// Target is the upstream's scheme and host, "http://host:port" (h2c)
	// or "https://host:port". If nil, requests keep their URL's scheme and
	// host, for a Transport that picks the upstream itself (a pool).
	Target *url.URL
	// Transport sends the gRPC calls over HTTP/2. If nil, a
	// &grpcproxy.Transport{} is used.
	Transport http.RoundTripper
	// Timeout bounds each call, streams included, and is sent upstream as
	// grpc-timeout. If zero, calls last as long as the client waits.
	Timeout time.Duration
	// MaxMessageBytes bounds a request body and each response message.
	// If zero, 4 MiB.
	MaxMessageBytes int
	// Marshal writes response messages. The zero value writes lowerCamel
	// names, enums by name and omits fields with default values, as
	// protojson does.
	Marshal protojson.MarshalOptions
	// Unmarshal reads request bodies. The zero value refuses unknown
	// fields.
	Unmarshal protojson.UnmarshalOptions
	// Stream is how server-streaming methods answer: [StreamNDJSON] or
	// [StreamSSE]. If empty, Server-Sent Events when the client accepts
	// text/event-stream, NDJSON otherwise.
	Stream string
}

// The formats of [Config].Stream.
const (
	StreamNDJSON = "ndjson" // application/x-ndjson, one message a line
	StreamSSE    = "sse"    // text/event-stream, one message an event
)

// Handler serves JSON/HTTP clients from a gRPC service: it matches a
// request to a method's google.api.http binding (or the default
// POST /package.Service/Method with the whole message as the body),
// builds the request message from the body, the path variables and the
// query parameters, calls the method, and answers with the response
// message as JSON. A server-streaming method answers with one JSON
// message per line (application/x-ndjson), or with Server-Sent Events when
// the client accepts text/event-stream. A failed call is answered with an
// RFC 9457 problem whose status is the gRPC code's standard HTTP status,
// with "code" (the gRPC code's name) and "details" (the google.rpc.Status
// details as JSON) members.
//
// Client- and bidirectional-streaming methods are not translated. A
// Handler is safe for concurrent use.
type Handler struct {
	cfg      Config
	bindings []*binding
	types    *dynamicpb.Types
	tr       http.RoundTripper
}

// New compiles the bindings of cfg's services. Errors name the method and
// the annotation field at fault.
func New(cfg Config) (*Handler, error) {
	if cfg.Files == nil {
		return nil, errors.New("files: required (a descriptor set or reflection)")
	}
	switch cfg.Stream {
	case "", StreamNDJSON, StreamSSE:
	default:
		return nil, fmt.Errorf("stream: %q is not a stream format (known: ndjson, sse)", cfg.Stream)
	}
	bs, err := bindingsOf(cfg.Files, cfg.Services)
	if err != nil {
		return nil, err
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = 4 << 20
	}
	h := &Handler{cfg: cfg, bindings: bs, types: dynamicpb.NewTypes(cfg.Files), tr: cfg.Transport}
	if h.tr == nil {
		h.tr = &grpcproxy.Transport{}
	}
	h.cfg.Marshal.Resolver = resolver{h.types}
	h.cfg.Unmarshal.Resolver = resolver{h.types}
	// Keep bindings ordered from the most specific template, for matching.
	slices.SortStableFunc(h.bindings, func(a, b *binding) int { return b.tpl.literals() - a.tpl.literals() })
	return h, nil
}

// WithTransport returns a Handler with the same bindings that sends its
// calls through tr, such as one per backend of a gateway route.
func (h *Handler) WithTransport(tr http.RoundTripper) *Handler {
	c := *h
	c.tr = tr
	c.cfg.Transport = tr
	return &c
}

// Routes lists the HTTP bindings served, the most specific first.
func (h *Handler) Routes() []Route {
	out := make([]Route, len(h.bindings))
	for i, b := range h.bindings {
		out[i] = b.Route
	}
	return out
}

// match finds the binding of r and its path variables; allow lists the
// methods of the path when only the method does not match.
func (h *Handler) match(r *http.Request) (b *binding, vars map[string]string, allow []string) {
	path := r.URL.EscapedPath()
	for _, c := range h.bindings {
		v, ok := c.tpl.Match(path)
		if !ok {
			continue
		}
		if c.Method == r.Method {
			return c, v, nil
		}
		if !slices.Contains(allow, c.Method) {
			allow = append(allow, c.Method)
		}
	}
	return nil, nil, allow
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, vars, allow := h.match(r)
	if b == nil {
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			problem.Write(w, r, problem.New(http.StatusMethodNotAllowed, "the method is not allowed on this path"))
			return
		}
		problem.Write(w, r, problem.New(http.StatusNotFound, "no method is bound to this path"))
		return
	}
	msg, status, err := h.request(r, b, vars)
	if err != nil {
		problem.Write(w, r, problem.New(status, err.Error()))
		return
	}
	ctx := r.Context()
	if h.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
		defer cancel()
	}
	s, err := h.call(ctx, r, b, msg)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer s.Close()
	responseMetadata(w.Header(), s.Header())
	if b.ServerStreaming {
		h.stream(w, r, b, s)
		return
	}
	h.unary(w, r, b, s)
}

// request builds the request message from the body, the path variables
// and the query; on failure it returns the status to answer.
func (h *Handler) request(r *http.Request, b *binding, vars map[string]string) (*dynamicpb.Message, int, error) {
	msg := dynamicpb.NewMessage(b.md.Input())
	if b.Body != "" {
		raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, int64(h.cfg.MaxMessageBytes)))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes", h.cfg.MaxMessageBytes)
			}
			return nil, http.StatusBadRequest, errors.New("the body could not be read")
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			if ct := r.Header.Get("Content-Type"); ct != "" {
				if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
					return nil, http.StatusUnsupportedMediaType, fmt.Errorf("the body must be JSON, not %s", mt)
				}
			}
			if b.body != nil {
				raw = wrapField(b.body, raw)
			}
			if err := h.cfg.Unmarshal.Unmarshal(raw, msg); err != nil {
				return nil, http.StatusBadRequest, fmt.Errorf("the body is not a valid %s: %s", bodyName(b), protoErr(err))
			}
		}
	}
	for path, v := range vars {
		if err := setField(msg, strings.Split(path, "."), v); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("path: %w", err)
		}
	}
	if b.Body == "*" {
		return msg, 0, nil
	}
	for key, values := range r.URL.Query() {
		if b.bound[key] || b.body != nil && strings.HasPrefix(key, b.Body+".") {
			return nil, http.StatusBadRequest, fmt.Errorf("query parameter %q: the field is set by the path or the body", key)
		}
		for _, v := range values {
			if err := setField(msg, strings.Split(key, "."), v); err != nil {
				return nil, http.StatusBadRequest, fmt.Errorf("query parameter %q: %w", key, err)
			}
		}
	}
	return msg, 0, nil
}

func bodyName(b *binding) string {
	if b.body != nil {
		return string(b.body.Name())
	}
	return string(b.md.Input().Name())
}

// wrapField makes a body that fills one field into a message of its own.
func wrapField(fd protoreflect.FieldDescriptor, raw []byte) []byte {
	out := make([]byte, 0, len(raw)+len(fd.JSONName())+4)
	out = append(out, `{"`...)
	out = append(out, fd.JSONName()...)
	out = append(out, `":`...)
	out = append(out, raw...)
	return append(out, '}')
}

// protoErr shortens a protojson error for a client.
func protoErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "proto") {
		return s[i+2:]
	}
	return s
}

// call sends msg to b's method and opens the answer.
func (h *Handler) call(ctx context.Context, r *http.Request, b *binding, msg proto.Message) (*grpcwire.Stream, error) {
	raw, err := proto.Marshal(msg)
	if err != nil {
		return nil, err
	}
	target := "http://" + r.Host
	if r.URL.Host != "" {
		target = cmp.Or(r.URL.Scheme, "http") + "://" + r.URL.Host
	}
	if h.cfg.Target != nil {
		target = h.cfg.Target.Scheme + "://" + h.cfg.Target.Host
	}
	if resilience.Idempotent(r) {
		// A GET, PUT or DELETE binding, or a request with an
		// Idempotency-Key, may be retried though gRPC calls are POSTs.
		ctx = resilience.WithIdempotent(ctx)
	}
	req, err := grpcwire.NewRequest(ctx, target, b.RPC, raw)
	if err != nil {
		return nil, err
	}
	copyMetadata(req.Header, r.Header)
	return grpcwire.Open(h.tr, req, h.cfg.MaxMessageBytes)
}

// copyMetadata passes the client's headers on as gRPC metadata, but for
// those of HTTP itself and the gRPC protocol's own.
func copyMetadata(dst, src http.Header) {
	for k, vs := range src {
		switch lk := strings.ToLower(k); {
		case lk == "content-type", lk == "content-length", lk == "accept", lk == "accept-encoding",
			lk == "connection", lk == "keep-alive", lk == "te", lk == "transfer-encoding", lk == "upgrade",
			lk == "host", lk == "proxy-connection", strings.HasPrefix(lk, "grpc-"), strings.HasPrefix(lk, ":"):
			continue
		}
		dst[k] = vs
	}
}

// responseMetadata passes the upstream's header metadata on as
// Grpc-Metadata-<Key> headers, as grpc-gateway does, but for the
// protocol's own headers.
func responseMetadata(dst, src http.Header) {
	for k, vs := range src {
		switch lk := strings.ToLower(k); {
		case lk == "content-type", lk == "content-length", lk == "trailer", lk == "date",
			strings.HasPrefix(lk, "grpc-"), strings.HasPrefix(lk, ":"):
			continue
		}
		dst["Grpc-Metadata-"+k] = vs
	}
}

// unary answers with the one message of s.
func (h *Handler) unary(w http.ResponseWriter, r *http.Request, b *binding, s *grpcwire.Stream) {
	raw, err := s.Recv()
	if errors.Is(err, io.EOF) {
		err = grpcwire.Errorf(codes.Internal, "the upstream answered without a message")
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = grpcwire.Errorf(codes.Internal, "the upstream answered a unary call with several messages")
		}
		h.writeError(w, r, err)
		return
	}
	out, err := h.render(b, raw)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	noteStatus(r, nil)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// render decodes a response message and writes it as JSON.
func (h *Handler) render(b *binding, raw []byte) ([]byte, error) {
	msg := dynamicpb.NewMessage(b.md.Output())
	if err := proto.Unmarshal(raw, msg); err != nil {
		return nil, grpcwire.Errorf(codes.Internal, "the upstream's message is not a valid %s", b.md.Output().Name())
	}
	if b.respBody != nil {
		return h.marshalField(msg, b.respBody)
	}
	return h.marshal(msg)
}

// marshal writes m as JSON without the random spaces protojson inserts,
// so that the same message is always the same bytes.
func (h *Handler) marshal(m proto.Message) ([]byte, error) {
	raw, err := h.cfg.Marshal.Marshal(m)
	if err != nil || h.cfg.Marshal.Multiline {
		return raw, err
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// marshalField writes one field of msg as JSON.
func (h *Handler) marshalField(msg *dynamicpb.Message, fd protoreflect.FieldDescriptor) ([]byte, error) {
	whole, err := h.marshal(msg)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(whole, &fields); err != nil {
		return nil, err
	}
	key := fd.JSONName()
	if h.cfg.Marshal.UseProtoNames {
		key = string(fd.Name())
	}
	if v, ok := fields[key]; ok {
		return v, nil
	}
	return []byte("null"), nil
}

// stream answers with each message of s as an NDJSON line or an SSE
// event, flushed as it arrives.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, b *binding, s *grpcwire.Stream) {
	useSSE := h.cfg.Stream == StreamSSE || h.cfg.Stream == "" && acceptsSSE(r)
	first, err := s.Recv()
	if err != nil && !errors.Is(err, io.EOF) {
		h.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	var enc *sse.Encoder
	if useSSE {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		enc = sse.NewEncoder(w)
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.WriteHeader(http.StatusOK)
	emit := func(data []byte, isErr bool) bool {
		if enc != nil {
			ev := sse.Event{Data: data}
			if isErr {
				ev.Type = "error"
			}
			return enc.Encode(ev) == nil
		}
		if isErr {
			data = append(append([]byte(`{"error":`), data...), '}')
		}
		if _, err := w.Write(append(data, '\n')); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for raw := first; err == nil; raw, err = s.Recv() {
		out, rerr := h.render(b, raw)
		if rerr != nil {
			err = rerr
			break
		}
		if !emit(out, false) {
			return
		}
	}
	noteStatus(r, err)
	if !errors.Is(err, io.EOF) {
		doc, _ := h.problemFor(r, err).MarshalJSON()
		emit(doc, true)
	} else if enc == nil {
		_ = rc.Flush()
	}
}

func acceptsSSE(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part)); mt == "text/event-stream" {
			return true
		}
	}
	return false
}
