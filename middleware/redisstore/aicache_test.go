package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/aicache"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

var _ aicache.Store = (*redisstore.AICache)(nil)

// countingModel answers every call with the same text and counts calls.
type countingModel struct{ calls atomic.Int64 }

func (m *countingModel) Name() string { return "counting" }

func (m *countingModel) Chat(context.Context, *aiclient.Request) (*aiclient.Response, error) {
	m.calls.Add(1)
	return &aiclient.Response{Model: "m", Message: aiclient.Message{Role: aiclient.RoleAssistant,
		Parts: []aiclient.Part{aiclient.Text("cached answer")}}, FinishReason: aiclient.FinishStop}, nil
}

func (m *countingModel) Stream(ctx context.Context, req *aiclient.Request) (*aiclient.Stream, error) {
	resp, err := m.Chat(ctx, req)
	if err != nil {
		return nil, err
	}
	return aicache.Replay(resp), nil
}

func TestAICacheIsSharedByTwoReplicas(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	store := redisstore.New(client(t, s), steady).AICache()
	model := &countingModel{}
	var replicas [2]*aicache.Cache
	for i := range replicas {
		c, err := aicache.New(model, aicache.WithStore(store), aicache.WithTTL(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		replicas[i] = c
	}
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hello")}}
	if _, err := replicas[0].Chat(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	call := &aicache.Call{}
	resp, err := replicas[1].Chat(aicache.WithCall(t.Context(), call), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := call.Hit, true; got != want {
		t.Errorf("the second replica's hit = %v, want %v", got, want)
	}
	if got, want := resp.Message.Text(), "cached answer"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, want := model.calls.Load(), int64(1); got != want {
		t.Errorf("model calls = %d, want %d", got, want)
	}
	got, err := store.Get(t.Context(), "absent")
	if err != nil {
		t.Errorf("Get(absent): %v, want no error", err)
	}
	if got != nil {
		t.Errorf("Get(absent) = %q, want nil", got)
	}
}
