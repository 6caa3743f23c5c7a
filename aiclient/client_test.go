package aiclient_test

import (
	"context"
	"errors"
	"github.com/portico-dev/portico/aiclient/internal/testkit"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aitest"
	"github.com/portico-dev/portico/aiclient/anthropic"
	"github.com/portico-dev/portico/aiclient/openai"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeOpenAI starts an OpenAI-format server and a provider for it that
// sends every request once, so the tests see each failure.
func fakeOpenAI(t *testing.T, replies ...aitest.Reply) (*aitest.Server, *openai.Provider) {
	srv := aitest.NewServer(aitest.OpenAI)
	t.Cleanup(srv.Close)
	srv.Push(replies...)
	return srv, openai.New(openai.WithBaseURL(srv.URL()), openai.WithPolicies())
}

func chatReq(model string) *aiclient.Request {
	return &aiclient.Request{Model: model, Messages: []aiclient.Message{aiclient.UserText("hi")}}
}

func TestFallbackMovesOnWhenTheFirstCandidateIsRateLimited(t *testing.T) {
	t.Parallel()
	first, p1 := fakeOpenAI(t, aitest.Status(429, 30*time.Second))
	second, p2 := fakeOpenAI(t, aitest.Text("from the second", 5, 3))
	var logs strings.Builder
	c := aiclient.New(aiclient.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), aiclient.WithRoute("smart",
		aiclient.Candidate{Provider: p1, Model: "gpt-a", Priority: 0},
		aiclient.Candidate{Provider: p2, Model: "gpt-b", Priority: 1},
	))
	resp, err := c.Chat(deadline(t), chatReq("smart"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "from the second"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, want := resp.Model, "gpt-b"; got != want {
		t.Errorf("model = %q, want %q", got, want)
	}
	if got, want := len(first.Requests()), 1; got != want {
		t.Errorf("first candidate got %d requests, want %d", got, want)
	}
	if got, want := len(second.Requests()), 1; got != want {
		t.Errorf("second candidate got %d requests, want %d", got, want)
	}
	if got := second.Requests()[0].JSON()["model"]; got != "gpt-b" {
		t.Fatalf("the second candidate got model %v", got)
	}
	out := logs.String()
	for _, want := range []string{"level=WARN", "candidate_model=gpt-a", "rate_limited"} {
		if !strings.Contains(out, want) {
			t.Errorf("fallback log %q does not hold %q", out, want)
		}
	}
}

func TestStreamFallbackGivesTheCallerOneCleanStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first aitest.Reply
	}{
		{"when the first candidate answers 429", aitest.Status(429, time.Second)},
		{"when the first candidate answers 500", aitest.Status(500, 0)},
		{"when the first stream fails before any content", aitest.Reply{Text: "never seen", Fault: aitest.ErrorEvent, FaultAfter: 0}},
		{"when the first stream is cut before any content", aitest.Reply{Text: "never seen", Fault: aitest.Cut, FaultAfter: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, p1 := fakeOpenAI(t, tt.first)
			second, p2 := fakeOpenAI(t, aitest.Text("clean answer", 4, 2))
			c := aiclient.New(aiclient.WithRoute("smart",
				aiclient.Candidate{Provider: p1, Model: "a"},
				aiclient.Candidate{Provider: p2, Model: "b", Priority: 1},
			))
			s, err := c.Stream(deadline(t), chatReq("smart"))
			if err != nil {
				t.Fatal(err)
			}
			var starts int
			var acc aiclient.Accumulator
			for s.Next() {
				ev := s.Current()
				if ev.Type == aiclient.EventStart {
					starts++
				}
				acc.Add(ev)
			}
			s.Close()
			if s.Err() != nil {
				t.Fatal(s.Err())
			}
			resp := acc.Response()
			if got, want := starts, 1; got != want {
				t.Errorf("start events = %d, want %d", got, want)
			}
			if got, want := resp.Message.Text(), "clean answer"; got != want {
				t.Errorf("text = %q, want %q", got, want)
			}
			if got, want := resp.Model, "b"; got != want {
				t.Errorf("model = %q, want %q", got, want)
			}
			if got, want := resp.Usage.TotalTokens(), int64(6); got != want {
				t.Errorf("total tokens = %d, want %d", got, want)
			}
			if len(second.Requests()) != 1 {
				t.Fatalf("second candidate got %d requests", len(second.Requests()))
			}
		})
	}
}

func TestAnErrorAfterTheFirstByteIsSurfacedNotRetried(t *testing.T) {
	t.Parallel()
	_, p1 := fakeOpenAI(t, aitest.Reply{Text: "half an answer that breaks", Fault: aitest.ErrorEvent, FaultAfter: 3})
	second, p2 := fakeOpenAI(t, aitest.Text("should never be used", 1, 1))
	c := aiclient.New(aiclient.WithRoute("smart",
		aiclient.Candidate{Provider: p1, Model: "a"},
		aiclient.Candidate{Provider: p2, Model: "b", Priority: 1},
	))
	s, err := c.Stream(deadline(t), chatReq("smart"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := aiclient.Collect(s)
	var e *aiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want the provider's *aiclient.Error", err)
	}
	if got, want := e.Status, 200; got != want {
		t.Fatalf("Status = %d, want %d", got, want)
	}
	if resp.Message.Text() != "half a" {
		t.Fatalf("the caller saw %q", resp.Message.Text())
	}
	if got, want := len(second.Requests()), 0; got != want {
		t.Errorf("the second candidate was called %d times, want %d", got, want)
	}
	if got, want := second.Pending(), 1; got != want {
		t.Errorf("the second candidate has %d pending replies, want %d", got, want)
	}
}

func TestFallbackStopsOnErrorsEveryCandidateWouldGive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply aitest.Reply
		kind  aiclient.Kind
	}{
		{"an invalid request", aitest.Reply{Status: 400}, aiclient.KindInvalidRequest},
		{"a context too long", aitest.Reply{Status: 400, ErrorCode: "context_length_exceeded"}, aiclient.KindContextLength},
		{"filtered content", aitest.Reply{Status: 400, ErrorCode: "content_filter"}, aiclient.KindContentFiltered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, p1 := fakeOpenAI(t, tt.reply)
			second, p2 := fakeOpenAI(t, aitest.Text("unused", 1, 1))
			c := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: p1}, aiclient.Candidate{Provider: p2, Priority: 1}))
			_, err := c.Chat(deadline(t), chatReq("m"))
			var e *aiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *aiclient.Error", err)
			}
			if got, want := e.Kind, tt.kind; got != want {
				t.Fatalf("Kind = %s, want %s", got, want)
			}
			if len(second.Requests()) != 0 {
				t.Fatal("fell back on an error every candidate would give")
			}
		})
	}
}

func TestFallbackCrossesWireFormats(t *testing.T) {
	t.Parallel()
	_, p1 := fakeOpenAI(t, aitest.Status(503, 0))
	ant := aitest.NewServer(aitest.Anthropic)
	defer ant.Close()
	ant.Push(aitest.Text("Claude here", 9, 2))
	p2 := anthropic.New(anthropic.WithBaseURL(ant.URL()), anthropic.WithPolicies())
	c := aiclient.New(aiclient.WithRoute("chat",
		aiclient.Candidate{Provider: p1, Model: "gpt-4o"},
		aiclient.Candidate{Provider: p2, Model: "claude-sonnet-4-5", Priority: 1},
	))
	resp, err := c.Chat(deadline(t), chatReq("chat"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "Claude here"; got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
}

func TestWeightsShareCallsAmongCandidatesOfOnePriority(t *testing.T) {
	t.Parallel()
	_, heavy := fakeOpenAI(t)
	_, light := fakeOpenAI(t)
	_, backup := fakeOpenAI(t)
	c := aiclient.New(
		aiclient.WithRandSource(rand.NewPCG(1, 2)),
		aiclient.WithRoute("m",
			aiclient.Candidate{Provider: heavy, Model: "heavy", Weight: 3},
			aiclient.Candidate{Provider: light, Model: "light", Weight: 1},
			aiclient.Candidate{
				Provider: backup,
				Model:    "backup",
				Priority: 1,
				Weight:   100,
			},
		))
	firsts := map[string]int{}
	for range 4000 {
		order := aiclient.Order(c, "m")
		firsts[order[0].Model]++
		if order[2].Model != "backup" {
			t.Fatalf("a lower priority came before a higher one: %+v", order)
		}
	}
	share := float64(firsts["heavy"]) / 4000
	testkit.InRange(t, "share of calls where the weight-3 candidate came first", share, 0.70, 0.80)
	if firsts["backup"] != 0 {
		t.Fatal("the backup came first")
	}
}

func TestUnroutedModelsGoToTheDefaultOrFail(t *testing.T) {
	t.Parallel()
	srv, p := fakeOpenAI(t, aitest.Text("default", 1, 1))
	c := aiclient.New(aiclient.WithDefault(p))
	resp, err := c.Chat(deadline(t), chatReq("gpt-4.1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "default"; got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
	if got := srv.Requests()[0].JSON()["model"]; got != "gpt-4.1" {
		t.Fatalf("model sent %v", got)
	}
	_, err = aiclient.New().Chat(deadline(t), chatReq("nope"))
	var e *aiclient.Error
	if !errors.Is(err, aiclient.ErrNotRouted) {
		t.Errorf("got %v, want ErrNotRouted", err)
	}
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *aiclient.Error", err)
	}
	if got, want := e.Kind, aiclient.KindNotFound; got != want {
		t.Errorf("Kind = %s, want %s", got, want)
	}
}

func TestEmbedAndModelsThroughTheClient(t *testing.T) {
	t.Parallel()
	_, p1 := fakeOpenAI(t, aitest.Status(500, 0))
	srv2 := aitest.NewServer(aitest.OpenAI, aitest.WithModels("text-embedding-3-large"))
	defer srv2.Close()
	srv2.Push(aitest.Reply{Embeddings: [][]float32{{1, 2, 3}}})
	p2 := openai.New(openai.WithBaseURL(srv2.URL()), openai.WithPolicies())
	c := aiclient.New(aiclient.WithRoute("embed", aiclient.Candidate{Provider: p1}, aiclient.Candidate{Provider: p2, Priority: 1}))
	resp, err := c.Embed(deadline(t), &aiclient.EmbedRequest{Model: "embed", Input: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Embeddings, [][]float32{{1, 2, 3}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("embeddings = %v, want %v", got, want)
	}
	models, err := c.Models(deadline(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range models {
		ids = append(ids, m.Provider+":"+m.ID)
	}
	want := []string{"openai:aitest-1", "openai:text-embedding-3-large", "aiclient:embed"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("models %v, want %v", ids, want)
	}
}

func TestACanceledCallDoesNotFallBack(t *testing.T) {
	t.Parallel()
	_, p1 := fakeOpenAI(t, aitest.Reply{Text: "slow", Delay: time.Minute})
	second, p2 := fakeOpenAI(t, aitest.Text("unused", 1, 1))
	c := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: p1}, aiclient.Candidate{Provider: p2, Priority: 1}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Chat(ctx, chatReq("m"))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the canceled call did not return")
	}
	if len(second.Requests()) != 0 {
		t.Fatal("a canceled call fell back")
	}
}

func TestTheClientIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	a := aitest.NewServer(aitest.OpenAI)
	defer a.Close()
	b := aitest.NewServer(aitest.OpenAI)
	defer b.Close()
	for range 20 {
		a.Push(aitest.Text("a", 1, 1))
		b.Push(aitest.Text("b", 1, 1))
	}
	pa := openai.New(openai.WithBaseURL(a.URL()), openai.WithPolicies())
	pb := openai.New(openai.WithBaseURL(b.URL()), openai.WithPolicies())
	c := aiclient.New(aiclient.WithRoute("m", aiclient.Candidate{Provider: pa, Weight: 1}, aiclient.Candidate{Provider: pb, Weight: 1}))
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			if i%2 == 0 {
				_, err := c.Chat(deadline(t), chatReq("m"))
				errs <- err
				return
			}
			s, err := c.Stream(deadline(t), chatReq("m"))
			if err != nil {
				errs <- err
				return
			}
			go s.Close() // closing from another goroutine must be safe
			for s.Next() {
			}
			errs <- nil
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(a.Requests()) + len(b.Requests()); got != 20 {
		t.Fatalf("%d requests, want 20", got)
	}
}

func TestADeploymentThatKeepsFailingCoolsOffAndIsSkippedFast(t *testing.T) {
	t.Parallel()
	bad := aitest.NewServer(aitest.OpenAI)
	defer bad.Close()
	for range 5 {
		bad.Push(aitest.Status(501, 0)) // a server error that is not retried, counted by the breaker
	}
	good := aitest.NewServer(aitest.OpenAI)
	defer good.Close()
	for range 6 {
		good.Push(aitest.Text("good", 1, 1))
	}
	// Default policies: the adapter's circuit breaker opens after 5 failures in a row.
	pBad := openai.New(openai.WithBaseURL(bad.URL()))
	pGood := openai.New(openai.WithBaseURL(good.URL()))
	c := aiclient.New(aiclient.WithRoute("m",
		aiclient.Candidate{Provider: pBad, Model: "x"},
		aiclient.Candidate{Provider: pGood, Model: "x", Priority: 1},
	))
	for i := range 6 {
		resp, err := c.Chat(deadline(t), chatReq("m"))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got, want := resp.Message.Text(), "good"; got != want {
			t.Fatalf("call %d: text = %q, want %q", i, got, want)
		}
	}
	if n := len(bad.Requests()); n != 5 {
		t.Fatalf("the failing deployment got %d requests; after 5 failures it must cool off", n)
	}
}
