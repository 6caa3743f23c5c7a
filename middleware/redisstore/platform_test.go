package redisstore_test

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/redisstore"
)

func TestDocumentsStoreUpdateAndVersionLikeThePlatformExpects(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	docs := redisstore.New(client(t, srv), redisstore.WithPrefix("test:"), steady).Documents()
	ctx := context.Background()

	if _, err := docs.Get(ctx, "tenant", "acme"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing document: %v, want fs.ErrNotExist", err)
	}
	v, err := docs.Version(ctx)
	if err != nil {
		t.Fatalf("Version of an empty store: %v", err)
	}
	if v != 0 {
		t.Fatalf("Version of an empty store = %d, want 0", v)
	}
	put := func(id, val string) {
		t.Helper()
		if err := docs.Update(ctx, "tenant", id, func([]byte) ([]byte, error) { return []byte(val), nil }); err != nil {
			t.Fatal(err)
		}
	}
	put("globex", `{"id":"globex"}`)
	put("acme", `{"id":"acme"}`)
	list, err := docs.List(ctx, "tenant")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("List = %q, want both documents", list)
	}
	if got, want := string(list[0]), `{"id":"acme"}`; got != want {
		t.Fatalf("List[0] = %s, want %s: ordered by ID", got, want)
	}
	if v, _ := docs.Version(ctx); v != 2 {
		t.Errorf("Version after two writes = %d, want 2", v)
	}

	refused := errors.New("refused")
	err = docs.Update(ctx, "tenant", "acme", func(old []byte) ([]byte, error) {
		if string(old) != `{"id":"acme"}` {
			t.Errorf("Update saw %q, want the stored document", old)
		}
		return nil, refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("Update returned %v, want the function's error", err)
	}
	if v, _ := docs.Version(ctx); v != 2 {
		t.Errorf("Version after a refused update = %d, want 2", v)
	}
	if err := docs.Update(ctx, "tenant", "acme", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := docs.Get(ctx, "tenant", "acme"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get after delete: %v, want fs.ErrNotExist", err)
	}
}

func TestConcurrentDocumentUpdatesFromSeveralReplicasLoseNothing(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for r := range 4 {
		docs := redisstore.New(client(t, srv), steady).Documents()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				err := docs.Update(ctx, "counter", "c", func(old []byte) ([]byte, error) {
					n, _ := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(n + 1)), nil
				})
				if err != nil {
					t.Errorf("replica %d: %v", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	docs := redisstore.New(client(t, srv), steady).Documents()
	b, err := docs.Get(ctx, "counter", "c")
	if err != nil {
		t.Fatalf("counter: %v", err)
	}
	if got, want := string(b), "100"; got != want {
		t.Errorf("counter = %s, want %s after 4×25 concurrent increments", got, want)
	}
	if v, _ := docs.Version(ctx); v != 100 {
		t.Errorf("Version = %d, want 100", v)
	}
}

func TestDocumentsReportAnOutageAsAnError(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	docs := redisstore.New(client(t, srv), steady).Documents()
	srv.Kill()
	ctx := context.Background()
	if _, err := docs.Version(ctx); err == nil {
		t.Error("Version succeeded with Redis down")
	}
	if err := docs.Update(ctx, "k", "i", func([]byte) ([]byte, error) { return []byte("x"), nil }); err == nil {
		t.Error("Update succeeded with Redis down")
	}
	if _, err := docs.Get(ctx, "k", "i"); err == nil {
		t.Error("Get with Redis down succeeded, want an error")
	} else if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get with Redis down: %v, want an error other than not-exist", err)
	}
}

func TestWatchAnnouncesEveryCommittedUpdateFromAnyReplica(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	watcher := redisstore.New(client(t, srv), steady).Documents()
	writer := redisstore.New(client(t, srv), steady).Documents()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() { done <- watcher.Watch(ctx, func() { changes <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(20 * time.Second):
			t.Fatalf("no change announced for %s", what)
		}
	}
	wait("the subscription") // a (re)subscription counts as a change
	ctxb := context.Background()
	if err := writer.Update(ctxb, "tenant", "acme", func([]byte) ([]byte, error) { return []byte("{}"), nil }); err != nil {
		t.Fatal(err)
	}
	wait("a write")
	_ = writer.Update(ctxb, "tenant", "acme", func([]byte) ([]byte, error) { return nil, errors.New("refused") })
	select {
	case <-changes:
		t.Error("a refused update was announced")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch returned %v, want context.Canceled", err)
	}
}
