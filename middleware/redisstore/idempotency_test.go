package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/cache"
	"github.com/portico-dev/portico/middleware/redisstore"
)

func TestIdempotencyRunsDuplicatesOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	var calls atomic.Int64
	release := make(chan struct{})
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		<-release
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Location", fmt.Sprintf("/orders/%d", n))
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"order":%d,"req":%s}`, n, body)
	})
	store := redisstore.New(client(t, s), steady).Idempotency()
	replicas := []string{
		serve(t, cache.Idempotency(cache.IdempotencyConfig{Store: store})(origin)).URL,
		serve(t, cache.Idempotency(cache.IdempotencyConfig{Store: store})(origin)).URL,
	}
	post := func(url, body string) (int, http.Header, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/orders", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil, ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}

	const n = 30
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i], _, _ = post(replicas[i%2], `{"sku":"A"}`) })
	}
	// Let the duplicates arrive while the first one runs, then finish it.
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if c := calls.Load(); c != 1 {
		t.Fatalf("upstream ran %d times for one key across two replicas, want 1", c)
	}
	for i, st := range statuses {
		if st != http.StatusCreated && st != http.StatusConflict {
			t.Errorf("request %d: %d, want 201 or 409", i, st)
		}
	}

	// After completion both replicas replay the identical response.
	st1, h1, b1 := post(replicas[0], `{"sku":"A"}`)
	st2, h2, b2 := post(replicas[1], `{"sku":"A"}`)
	type replay struct {
		Status         int
		Body, Location string
	}
	want := replay{http.StatusCreated, `{"order":1,"req":{"sku":"A"}}`, "/orders/1"}
	if got := (replay{st1, b1, h1.Get("Location")}); got != want {
		t.Errorf("replay by replica 0 = %+v, want %+v", got, want)
	}
	if got := (replay{st2, b2, h2.Get("Location")}); got != want {
		t.Errorf("replay by replica 1 = %+v, want %+v", got, want)
	}
	if got, want := h2.Values("X-Multi"), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("replayed X-Multi = %q, want %q", got, want)
	}
	if h2.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay not marked")
	}
	if st, _, _ := post(replicas[1], `{"sku":"B"}`); st != http.StatusUnprocessableEntity {
		t.Errorf("a different body on the other replica = %d, want 422", st)
	}
}

func TestIdempotencyClaimsAreHeldByTheirToken(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	store := redisstore.New(client(t, s), redisstore.WithPrefix("tok:"), steady).Idempotency()
	ctx := t.Context()
	rec := &cache.IdempotencyRecord{Fingerprint: "fp", Token: "t1"}
	wantClaimed(t, store, "k", rec, "first claim")
	ex, err := store.Claim(ctx, "k", &cache.IdempotencyRecord{Fingerprint: "fp", Token: "t2"}, time.Minute)
	if err != nil {
		t.Fatalf("second claim: %v", err)
	}
	if ex == nil {
		t.Fatal("second claim won, want the in-flight record")
	}
	if ex.Done {
		t.Errorf("second claim = %+v, want the record in flight", ex)
	}
	if got, want := ex.Fingerprint, "fp"; got != want {
		t.Errorf("second claim: Fingerprint = %q, want %q", got, want)
	}
	if err := store.Release(ctx, "k", "t2"); !errors.Is(err, cache.ErrIdempotencyClaimLost) {
		t.Errorf("release by another token = %v, want ErrIdempotencyClaimLost", err)
	}
	if err := store.Complete(ctx, "k", &cache.IdempotencyRecord{Fingerprint: "fp", Token: "t2", Status: 200}, time.Minute); !errors.Is(err, cache.ErrIdempotencyClaimLost) {
		t.Errorf("complete by another token = %v, want ErrIdempotencyClaimLost", err)
	}
	done := &cache.IdempotencyRecord{
		Fingerprint: "fp",
		Token:       "t1",
		Status:      201,
		Header:      http.Header{"Location": {"/x"}},
		Body:        []byte("\x00bin"),
	}
	if err := store.Complete(ctx, "k", done, time.Minute); err != nil {
		t.Fatal(err)
	}
	ex, err = store.Claim(ctx, "k", &cache.IdempotencyRecord{Token: "t3"}, time.Minute)
	if err != nil {
		t.Fatalf("claim of a completed key: %v", err)
	}
	if ex == nil {
		t.Fatal("claim of a completed key won, want the completed record")
	}
	if !ex.Done {
		t.Errorf("completed record = %+v, want Done", ex)
	}
	if got, want := ex.Status, http.StatusCreated; got != want {
		t.Errorf("completed record: Status = %d, want %d", got, want)
	}
	if got, want := string(ex.Body), "\x00bin"; got != want {
		t.Errorf("completed record: Body = %q, want %q", got, want)
	}
	if got, want := ex.Header.Get("Location"), "/x"; got != want {
		t.Errorf("completed record: Location = %q, want %q", got, want)
	}
	if err := store.Release(ctx, "k", "t1"); !errors.Is(err, cache.ErrIdempotencyClaimLost) {
		t.Errorf("a completed key was released: %v", err)
	}
	// A released claim frees the key.
	if ex, _ := store.Claim(ctx, "r", &cache.IdempotencyRecord{Token: "a"}, time.Minute); ex != nil {
		t.Fatal("fresh key held")
	}
	if err := store.Release(ctx, "r", "a"); err != nil {
		t.Fatal(err)
	}
	wantClaimed(t, store, "r", &cache.IdempotencyRecord{Token: "b"}, "claim after release")
}

func TestIdempotencyFailsClosedWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusCreated)
	})
	store := redisstore.New(client(t, s), steady).Idempotency()
	closed := serve(t, cache.Idempotency(cache.IdempotencyConfig{Store: store})(origin))
	open := serve(t, cache.Idempotency(cache.IdempotencyConfig{Store: store, FailOpen: true})(origin))
	s.Kill()
	for _, tt := range []struct {
		name string
		url  string
		want int
	}{
		{name: "fail closed answers 503", url: closed.URL, want: http.StatusServiceUnavailable},
		{name: "fail open runs the request", url: open.URL, want: http.StatusCreated},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tt.url, strings.NewReader("x"))
		req.Header.Set("Idempotency-Key", "k")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, res.StatusCode, tt.want)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("upstream calls = %d, want 1 (fail open only)", calls.Load())
	}
}

func BenchmarkIdempotencyClaimAndComplete(b *testing.B) {
	s := redistest.Start(b)
	store := redisstore.New(client(b, s), redisstore.WithPrefix("bench:"), steady).Idempotency()
	ctx := b.Context()
	done := &cache.IdempotencyRecord{
		Fingerprint: "fp",
		Status:      http.StatusCreated,
		Header:      http.Header{"Location": {"/orders/1"}},
		Body:        []byte(`{"id":1}`),
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		key := fmt.Sprint("k", i)
		rec := &cache.IdempotencyRecord{Fingerprint: "fp", Token: key}
		wantClaimed(b, store, key, rec, "claim")
		done.Token = key
		if err := store.Complete(ctx, key, done, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// wantClaimed fails the test unless rec claims key: no error, no existing record.
func wantClaimed(t testing.TB, store cache.IdempotencyStore, key string, rec *cache.IdempotencyRecord, what string) {
	t.Helper()
	ex, err := store.Claim(context.Background(), key, rec, time.Minute)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if ex != nil {
		t.Fatalf("%s found %+v, want the claim", what, ex)
	}
}
