package aitest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSplitters(t *testing.T) {
	t.Parallel()
	body := []byte("data: é\r\n\r\nx世")
	tests := []struct {
		name  string
		split aitest.Splitter
		check func([][]byte) bool
	}{
		{"Bytewise gives one byte per piece", aitest.Bytewise, func(ps [][]byte) bool {
			for _, p := range ps {
				if len(p) != 1 {
					return false
				}
			}
			return len(ps) == len(body)
		}},
		{"SplitCRLF cuts between every CR and LF", aitest.SplitCRLF, func(ps [][]byte) bool {
			for _, p := range ps[:len(ps)-1] {
				if !bytes.HasSuffix(p, []byte("\r")) {
					return false
				}
			}
			return len(ps) == 3
		}},
		{"SplitRunes cuts inside every multi-byte rune", aitest.SplitRunes, func(ps [][]byte) bool {
			for _, p := range ps[:len(ps)-1] {
				if utf8.Valid(p[len(p)-1:]) {
					return false
				}
			}
			return len(ps) == 3
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pieces := tt.split(body)
			if !bytes.Equal(bytes.Join(pieces, nil), body) {
				t.Fatalf("pieces %q do not rebuild the body", pieces)
			}
			if !tt.check(pieces) {
				t.Fatalf("pieces %q", pieces)
			}
		})
	}
}

func TestAServerWithNoReplyLeftAnswers500(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(aitest.Anthropic)
	defer srv.Close()
	res, err := http.Post(srv.URL()+"/v1/messages", "application/json", strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if got, want := res.StatusCode, http.StatusInternalServerError; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, body)
	}
	if !strings.Contains(string(body), "no scripted reply left") {
		t.Fatalf("body %s does not say no scripted reply is left", body)
	}
	got := srv.Requests()
	if len(got) != 1 {
		t.Fatalf("recorded %d requests, want 1: %+v", len(got), got)
	}
	if got, want := got[0].JSON()["model"], any("m"); got != want {
		t.Fatalf("recorded model = %v, want %v", got, want)
	}
}

func TestScriptedStatusesCarryRetryHints(t *testing.T) {
	t.Parallel()
	for _, f := range []aitest.Format{aitest.OpenAI, aitest.Anthropic, aitest.Gemini, aitest.Ollama} {
		t.Run("in the "+f.String()+" format", func(t *testing.T) {
			t.Parallel()
			srv := aitest.NewServer(f)
			defer srv.Close()
			srv.Push(aitest.Status(429, 1500*time.Millisecond))
			path := map[aitest.Format]string{aitest.OpenAI: "/chat/completions", aitest.Anthropic: "/v1/messages",
				aitest.Gemini: "/v1beta/models/g:generateContent", aitest.Ollama: "/api/chat"}[f]
			res, err := http.Post(srv.URL()+path, "application/json", strings.NewReader(`{"model":"m"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			wantMs, wantS := "1500", "2"
			switch f {
			case aitest.Anthropic:
				wantMs = ""
			case aitest.Gemini:
				wantMs, wantS = "", ""
				if !strings.Contains(string(body), `"retryDelay":"1.5s"`) {
					t.Errorf("no RetryInfo in %s", body)
				}
			}
			if got, want := res.StatusCode, http.StatusTooManyRequests; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := res.Header.Get("retry-after-ms"), wantMs; got != want {
				t.Errorf("retry-after-ms = %q, want %q", got, want)
			}
			if got, want := res.Header.Get("retry-after"), wantS; got != want {
				t.Errorf("retry-after = %q, want %q", got, want)
			}
			if !strings.Contains(string(body), "error") {
				t.Errorf("body %s does not hold an error", body)
			}
			if srv.Pending() != 0 {
				t.Fatal("the reply was not consumed")
			}
		})
	}
}

func TestReplayWritesEachPieceSeparately(t *testing.T) {
	t.Parallel()
	body := []byte("data: 1\n\ndata: [DONE]\n\n")
	h := aitest.Replay("text/event-stream", body, aitest.Bytewise)
	rec := &countingWriter{header: http.Header{}}
	h.ServeHTTP(rec, nil)
	if got, want := rec.writes, len(body); got != want {
		t.Errorf("writes = %d, want %d", got, want)
	}
	if got, want := rec.flushes, len(body); got != want {
		t.Errorf("flushes = %d, want %d", got, want)
	}
	if got, want := rec.buf.String(), string(body); got != want {
		t.Errorf("written %q, want %q", got, want)
	}
	if got, want := rec.header.Get("Content-Type"), "text/event-stream"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
}

type countingWriter struct {
	header          http.Header
	buf             bytes.Buffer
	writes, flushes int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(int)     {}
func (w *countingWriter) Flush()              { w.flushes++ }
func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

func TestVectorsAnswerTheTestsVectors(t *testing.T) {
	t.Parallel()
	v := aitest.Vectors{"What is X?": {1, 0}, "exact": {0, 1}}
	resp, err := v.Embed(t.Context(), &aiclient.EmbedRequest{Model: "e", Input: []string{"user: What is X?\n", "exact"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(resp.Embeddings), "[[1 0] [0 1]]"; got != want {
		t.Errorf("embeddings = %s, want %s", got, want)
	}
	if _, err := v.Embed(t.Context(), &aiclient.EmbedRequest{Input: []string{"user: unknown\n"}}); err == nil {
		t.Error("an input with no vector was embedded")
	}
}
