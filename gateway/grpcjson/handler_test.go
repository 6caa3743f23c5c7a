package grpcjson_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/grpcjson"
	"github.com/portico-dev/portico/gateway/grpcproxy"
	"github.com/portico-dev/portico/internal/grpctest"
	"github.com/portico-dev/portico/internal/ndjson"
	"github.com/portico-dev/portico/internal/sse"
)

func TestTranslationFollowsTheHTTPAnnotations(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{})
	for _, tc := range []struct {
		name, method, path, body string
		want                     map[string]any
	}{
		{
			name:   "path variables and a query parameter",
			method: http.MethodGet,
			path:   "/v1/shelves/s1/books/b2?view=full",
			body:   "",
			want:   map[string]any{"name": "shelves/s1/books/b2", "author": "full", "genre": "GENRE_FICTION", "pageCount": "320"},
		},
		{
			name:   "an additional binding",
			method: http.MethodGet,
			path:   "/v1/books/b3",
			body:   "",
			want:   map[string]any{"name": "shelves/default/books/b3"},
		},
		{
			name:   "an escaped path variable",
			method: http.MethodGet,
			path:   "/v1/books/a%20b",
			body:   "",
			want:   map[string]any{"name": "shelves/default/books/a b"},
		},
		{
			name:   "a body field, a query parameter and a well-known type",
			method: http.MethodPost,
			path:   "/v1/shelves/s1/books?requestId=r1",
			body:   `{"title":"Dune","publishedTime":"1965-08-01T00:00:00Z","genre":"GENRE_SCIENCE"}`,
			want:   map[string]any{"name": "shelves/s1/books/dune", "tags": []any{"r1"}, "publishedTime": "1965-08-01T00:00:00Z", "genre": "GENRE_SCIENCE"},
		},
		{
			name:   "a proto field name in the body",
			method: http.MethodPost,
			path:   "/v1/shelves/s1/books",
			body:   `{"title":"A","page_count":"7"}`,
			want:   map[string]any{"pageCount": "7"},
		},
		{
			name:   "a multi-segment variable into a nested field",
			method: http.MethodPatch,
			path:   "/v1/shelves/s9/books/b9",
			body:   `{"title":"X","pageCount":"10"}`,
			want:   map[string]any{"name": "shelves/s9/books/b9", "pageCount": "11"},
		},
		{
			name:   "the default mapping",
			method: http.MethodPost,
			path:   "/portico.grpctest.v1.Shelf/Echo",
			body:   `{"message":"hi"}`,
			want:   map[string]any{"message": "hi", "attempt": float64(1)},
		},
	} {
		status, ct, body := do(t, tc.method, base+tc.path, tc.body)
		if status != http.StatusOK {
			t.Errorf("%s: status %d, want 200: %s", tc.name, status, body)
			continue
		}
		if got, want := ct, "application/json"; got != want {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, got, want)
		}
		got := decode(t, body)
		for k, want := range tc.want {
			if g := got[k]; !equalJSON(g, want) {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, g, want)
			}
		}
	}
}

func equalJSON(a, b any) bool {
	as, bs := strings.TrimSpace(jsonString(a)), strings.TrimSpace(jsonString(b))
	return as == bs
}

func jsonString(v any) string {
	var buf bytes.Buffer
	_ = jsonEncode(&buf, v)
	return buf.String()
}

func TestTranslationAnswersProblemsForBadRequests(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		detail                   string
	}{
		{
			name:   "an unknown path",
			method: http.MethodGet,
			path:   "/v2/nothing",
			body:   "",
			status: http.StatusNotFound,
			detail: "no method",
		},
		{
			name:   "a wrong method",
			method: http.MethodDelete,
			path:   "/v1/books/b1",
			body:   "",
			status: http.StatusMethodNotAllowed,
			detail: "not allowed",
		},
		{
			name:   "an unknown body field",
			method: http.MethodPost,
			path:   "/v1/shelves/s/books",
			body:   `{"titel":"x"}`,
			status: http.StatusBadRequest,
			detail: "titel",
		},
		{
			name:   "a body that is not JSON",
			method: http.MethodPost,
			path:   "/v1/shelves/s/books",
			body:   `title=x`,
			status: http.StatusBadRequest,
			detail: "not a valid book",
		},
		{
			name:   "an unknown query parameter",
			method: http.MethodGet,
			path:   "/v1/books/b1?colour=red",
			body:   "",
			status: http.StatusBadRequest,
			detail: `"colour"`,
		},
		{
			name:   "a bad enum in the query",
			method: http.MethodGet,
			path:   "/v1/shelves/s/books?genres=POETRY",
			body:   "",
			status: http.StatusBadRequest,
			detail: "POETRY",
		},
		{
			name:   "a bad number in the query",
			method: http.MethodGet,
			path:   "/v1/shelves/s/books?pageSize=ten",
			body:   "",
			status: http.StatusBadRequest,
			detail: "page_size",
		},
		{
			name:   "a query parameter for a path field",
			method: http.MethodGet,
			path:   "/v1/books/b1?book=b2",
			body:   "",
			status: http.StatusBadRequest,
			detail: `"book"`,
		},
	} {
		status, ct, body := do(t, tc.method, base+tc.path, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.status, body)
			continue
		}
		if got, want := ct, "application/problem+json"; got != want {
			t.Errorf("%s: Content-Type %q, want %q", tc.name, got, want)
		}
		if d, _ := decode(t, body)["detail"].(string); !strings.Contains(d, tc.detail) {
			t.Errorf("%s: detail %q lacks %q", tc.name, d, tc.detail)
		}
	}
}

func TestGRPCErrorsBecomeProblemsWithTheirDetails(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{})

	status, _, body := do(t, http.MethodGet, base+"/v1/shelves/a/books/missing", "")
	if got, want := status, http.StatusNotFound; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	doc := decode(t, body)
	if got, want := doc["code"], "NOT_FOUND"; got != want {
		t.Errorf("code %v, want %v", got, want)
	}
	if got, want := doc["detail"], "no book shelves/a/books/missing"; got != want {
		t.Errorf("detail %v, want %v", got, want)
	}
	details, _ := doc["details"].([]any)
	if len(details) != 1 {
		t.Fatalf("details %v, want one", doc["details"])
	}
	d, _ := details[0].(map[string]any)
	if got, want := d["@type"], "type.googleapis.com/google.rpc.ResourceInfo"; got != want {
		t.Errorf("details[0].@type %v, want %v", got, want)
	}
	if got, want := d["resourceName"], "shelves/a/books/missing"; got != want {
		t.Errorf("details[0].resourceName %v, want %v", got, want)
	}

	for _, tc := range []struct {
		code   int
		status int
	}{{3, 400}, {5, 404}, {7, 403}, {8, 429}, {9, 400}, {12, 501}, {13, 500}, {14, 503}, {16, 401}, {4, 504}, {10, 409}} {
		status, _, body := do(t, http.MethodPost, base+"/portico.grpctest.v1.Shelf/Echo",
			`{"failCode":`+itoa(tc.code)+`,"failTimes":1,"key":"k`+itoa(tc.code)+`","detail":"WHY"}`)
		if status != tc.status {
			t.Errorf("gRPC code %d: status %d, want %d", tc.code, status, tc.status)
		}
		doc := decode(t, body)
		details, _ := doc["details"].([]any)
		if len(details) != 1 {
			t.Errorf("gRPC code %d: details %v, want the ErrorInfo", tc.code, doc["details"])
			continue
		}
		if got, want := details[0].(map[string]any)["reason"], "WHY"; got != want {
			t.Errorf("gRPC code %d: ErrorInfo.reason %v, want %v", tc.code, got, want)
		}
	}
}

func TestServerStreamingAsNDJSONAndSSE(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{})
	u := base + "/v1/shelves/s/books?pageSize=3&genres=GENRE_HISTORY&genres=GENRE_SCIENCE"

	status, ct, body := do(t, http.MethodGet, u, "")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if got, want := ct, "application/x-ndjson"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
	var genres []any
	dec := ndjson.NewDecoder(bytes.NewReader(body))
	for {
		line, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		genres = append(genres, decode(t, line)["genre"])
	}
	if got, want := jsonString(genres), jsonString([]any{"GENRE_HISTORY", "GENRE_SCIENCE", "GENRE_HISTORY"}); got != want {
		t.Errorf("NDJSON genres %s, want %s", got, want)
	}

	status, ct, body = do(t, http.MethodGet, u, "", "Accept", "text/event-stream")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("SSE: status %d, want %d", got, want)
	}
	if got, want := ct, "text/event-stream"; got != want {
		t.Errorf("SSE: Content-Type %q, want %q", got, want)
	}
	events := 0
	sd := sse.NewDecoder(bytes.NewReader(body))
	for {
		ev, err := sd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ev.Type, ""; got != want {
			t.Errorf("SSE: event type %q, want a message", got)
		}
		events++
	}
	if got, want := events, 3; got != want {
		t.Errorf("SSE: %d events, want %d", got, want)
	}
}

func TestAStreamThatFailsEndsWithAnErrorLine(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{})
	_, _, body := do(t, http.MethodGet, base+"/v1/shelves/broken/books", "")
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if got, want := len(lines), 2; got != want {
		t.Fatalf("%d lines, want %d: %s", got, want, body)
	}
	errDoc, _ := decode(t, []byte(lines[1]))["error"].(map[string]any)
	if got, want := errDoc["code"], "UNAVAILABLE"; got != want {
		t.Errorf("error line code %v, want %v", got, want)
	}
	if got, want := errDoc["status"], float64(503); got != want {
		t.Errorf("error line status %v, want %v", got, want)
	}

	_, _, body = do(t, http.MethodGet, base+"/v1/shelves/broken/books", "", "Accept", "text/event-stream")
	if !strings.Contains(string(body), "event: error\ndata: {") {
		t.Errorf("SSE stream lacks an error event: %s", body)
	}
}

func TestTimeoutBoundsTheCall(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{Timeout: 5 * time.Second})
	_, _, body := do(t, http.MethodPost, base+"/portico.grpctest.v1.Shelf/Echo", `{}`)
	d, err := time.ParseDuration(strings.TrimSuffix(decode(t, body)["deadline"].(string), "s") + "s")
	if err != nil {
		t.Fatal(err)
	}
	inRange(t, "the deadline the upstream saw", d, time.Nanosecond, 5*time.Second)
	status, _, body := do(t, http.MethodPost, base+"/portico.grpctest.v1.Shelf/Echo", `{"key":"md"}`, "Grpc-Timeout", "1S", "X-Tenant", "acme")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	md, _ := decode(t, body)["metadata"].(map[string]any)
	if got, want := md["x-tenant"], "acme"; got != want {
		t.Errorf("metadata x-tenant %v, want %v", got, want)
	}
}

func TestReflectionDescribesTheService(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{TLS: true})
	up := grpcproxy.NewUpstreamTransport(s.ClientTLS)
	defer up.CloseIdleConnections()
	files, err := grpcjson.Reflect(context.Background(), up, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	base := translateTo(t, s, grpcjson.Config{Files: files, Services: []string{"portico.grpctest.v1.Shelf"}})
	status, _, body := do(t, http.MethodGet, base+"/v1/books/b1?view=short", "")
	if got, want := status, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
	if got, want := decode(t, body)["author"], "short"; got != want {
		t.Errorf("author %v, want %v", got, want)
	}
}

func TestAnUnreachableUpstreamIsABadGateway(t *testing.T) {
	t.Parallel()
	s := grpctest.Start(t, grpctest.Options{})
	base := translateTo(t, s, grpcjson.Config{})
	s.Stop()
	status, _, body := do(t, http.MethodGet, base+"/v1/books/b1", "")
	if got, want := status, http.StatusBadGateway; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
	if strings.Contains(string(body), "127.0.0.1") {
		t.Errorf("the problem names the upstream's address: %s", body)
	}
}

func TestHeaderMetadataComesBackAsGrpcMetadataHeaders(t *testing.T) {
	t.Parallel()
	base, _ := translate(t, grpcjson.Config{})
	resp, err := http.Post(base+"/portico.grpctest.v1.Shelf/Echo", "application/json", strings.NewReader(`{"key":"md"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("Grpc-Metadata-X-Attempt"), "1"; got != want {
		t.Errorf("Grpc-Metadata-X-Attempt %q, want %q", got, want)
	}
	if got := resp.Header.Get("Grpc-Metadata-Content-Type"); got != "" {
		t.Errorf("the protocol's Content-Type came back as metadata: %q", got)
	}
}
