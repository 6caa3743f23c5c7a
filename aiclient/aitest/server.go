package aitest

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Option configures a [Server].
type Option func(*Server)

// WithSplitter writes every response body in the splitter's pieces, such
// as [Bytewise], [SplitCRLF] or [SplitRunes].
func WithSplitter(s Splitter) Option { return func(srv *Server) { srv.split = s } }

// WithCRLF ends SSE lines with "\r\n" instead of "\n" (Gemini's own
// servers do).
func WithCRLF() Option { return func(srv *Server) { srv.eol = "\r\n" } }

// WithModels sets the models the listing endpoints report. By default,
// "aitest-1".
func WithModels(ids ...string) Option { return func(srv *Server) { srv.models = ids } }

// Recorded is a request a [Server] received.
type Recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value, for assertions.
func (r Recorded) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Server is a fake LLM provider on a loopback port, speaking one wire
// format. Push scripts its replies; each chat or embeddings request takes
// the next one (a request with none left gets a 500 error naming the
// problem). It is safe for concurrent use.
type Server struct {
	format Format
	srv    *httptest.Server
	split  Splitter
	eol    string
	models []string
	conns  atomic.Int64
	// created is the "created" time of every OpenAI answer: one per
	// server, so a whole and a streamed call compare equal whenever they run.
	created int64

	mu       sync.Mutex
	queue    []Reply
	requests []Recorded
	served   int
	tokens   map[string]bool // Vertex: the access tokens issued
	saKey    *rsa.PrivateKey // Vertex: the service account's key
}

// NewServer starts a Server speaking format. Close it when done.
func NewServer(format Format, opts ...Option) *Server {
	s := &Server{format: format, eol: "\n", models: []string{"aitest-1"}, created: time.Now().Unix()}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.srv.Start()
	return s
}

// Connections returns the number of connections the server has accepted,
// so that tests can tell whether clients reuse them.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// URL returns the base URL to give the format's adapter: the server root
// with "/v1" for OpenAI, the server root for the others (Bedrock's and
// Vertex AI's endpoints included).
func (s *Server) URL() string {
	if s.format == OpenAI {
		return s.srv.URL + "/v1"
	}
	return s.srv.URL
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down, closing open connections.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Push appends replies to the script.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Pending returns the number of scripted replies not yet served.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

func (s *Server) next() (Reply, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return Reply{}, 0, false
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	s.served++
	return r, s.served, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	x := &exchange{s: s, w: w, r: r, body: body}
	switch s.format {
	case OpenAI:
		x.openai()
	case Anthropic:
		x.anthropic()
	case Gemini:
		x.gemini()
	case Ollama:
		x.ollama()
	case Bedrock:
		x.bedrock()
	case Vertex:
		x.vertex()
	default:
		http.Error(w, "aitest: unknown format", http.StatusInternalServerError)
	}
}

// exchange is one request being answered.
type exchange struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	reply  Reply
	n      int
	events int
}

func (x *exchange) req() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(x.body, &m)
	return m
}

// take pops the next reply, answering its scripted error status itself.
// It reports whether the caller should go on with a success.
func (x *exchange) take(writeError func(status int, code, msg string)) bool {
	reply, n, ok := x.s.next()
	if !ok {
		writeError(http.StatusInternalServerError, "aitest_no_reply", "aitest: no scripted reply left for "+x.r.URL.Path)
		return false
	}
	x.reply, x.n = reply, n
	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		select {
		case <-t.C:
		case <-x.r.Context().Done():
			t.Stop()
			return false
		}
	}
	for k, vs := range reply.Header {
		x.w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	if reply.Status != 0 {
		// Each provider's own way: OpenAI sends both headers, Anthropic
		// retry-after only, Gemini and Vertex only RetryInfo in the body,
		// Bedrock nothing.
		if reply.RetryAfter > 0 && x.s.format != Gemini && x.s.format != Vertex && x.s.format != Bedrock {
			if x.s.format != Anthropic {
				x.w.Header().Set("retry-after-ms", strconv.FormatInt(reply.RetryAfter.Milliseconds(), 10))
			}
			x.w.Header().Set("retry-after", strconv.Itoa(int(math.Ceil(reply.RetryAfter.Seconds()))))
		}
		msg := reply.ErrorMessage
		if msg == "" {
			msg = fmt.Sprintf("portico/aitest: scripted %d %s", reply.Status, http.StatusText(reply.Status))
		}
		writeError(reply.Status, reply.ErrorCode, msg)
		return false
	}
	return true
}

func (x *exchange) id() string {
	if x.reply.ID != "" {
		return x.reply.ID
	}
	return "resp_" + strconv.Itoa(x.n)
}

func (x *exchange) model(requested string) string {
	if x.reply.Model != "" {
		return x.reply.Model
	}
	return requested
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// writeJSON answers with a whole JSON body.
func (x *exchange) writeJSON(status int, v any) {
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	writeSplit(x.w, marshal(v), x.s.split)
}

// begin starts a stream with the content type.
func (x *exchange) begin(contentType string) {
	x.w.Header().Set("Content-Type", contentType)
	x.w.Header().Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
}

// fault reports whether the scripted fault fires before the next event;
// for Cut it aborts the connection.
func (x *exchange) fault() bool {
	if x.reply.Fault == NoFault || x.events < x.reply.FaultAfter {
		return false
	}
	if x.reply.Fault == Cut {
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	return true
}

// sse writes one SSE event, with an event name if not empty.
func (x *exchange) sse(event string, data []byte) {
	eol := x.s.eol
	var b []byte
	if event != "" {
		b = append(b, "event: "+event+eol...)
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, eol+eol...)
	writeSplit(x.w, b, x.s.split)
	x.events++
}

// line writes one NDJSON line.
func (x *exchange) line(v any) {
	writeSplit(x.w, append(marshal(v), '\n'), x.s.split)
	x.events++
}

func (x *exchange) errorMessage() string {
	if x.reply.ErrorMessage != "" {
		return x.reply.ErrorMessage
	}
	return "aitest: scripted error after HTTP 200"
}

// chunks cuts s into fragments of n runes.
func chunks(s string, n int) []string {
	if n <= 0 {
		n = 3
	}
	var out []string
	r := []rune(s)
	for len(r) > 0 {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}

func (x *exchange) callID(i int, tc ToolCall) string {
	if tc.ID != "" {
		return tc.ID
	}
	return "call_" + strconv.Itoa(i)
}

func args(tc ToolCall) string {
	if strings.TrimSpace(tc.Arguments) == "" {
		return "{}"
	}
	return tc.Arguments
}

func argsObject(tc ToolCall) any {
	var v any
	if err := json.Unmarshal([]byte(args(tc)), &v); err != nil {
		return map[string]any{}
	}
	return v
}

// vectors returns the reply's embeddings or derived ones.
func (x *exchange) vectors(inputs []string) [][]float32 {
	if x.reply.Embeddings != nil {
		return x.reply.Embeddings
	}
	out := make([][]float32, len(inputs))
	for i, in := range inputs {
		l := float32(len(in))
		out[i] = []float32{l, l / 2, float32(i)}
	}
	return out
}

func stringsOf(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
