package ai_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/gateway/ai"
	"github.com/portico-dev/portico/internal/redistest"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
)

var (
	_ ai.Store              = (*redisstore.Quotas)(nil)
	_ ratelimit.WindowStore = (*redisstore.Windows)(nil)
)

// futureClock stays at one instant a year ahead: windows then expire in
// the future of the Redis server's clock, which expires keys in real time.
func futureClock() func() time.Time {
	t0 := time.Now().AddDate(1, 0, 0).Truncate(time.Hour).Add(5 * time.Second)
	return func() time.Time { return t0 }
}

func TestTwoReplicasSharingRedisEnforceOneTokenLimit(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	const limit = 600
	rec := &recorder{}
	var urls []string
	for range 2 {
		client := redis.NewClient(&redis.Options{Addr: rs.Addr()})
		t.Cleanup(func() { _ = client.Close() })
		srv := serve(t, demoClient(), ai.WithAuthenticator(keys()), ai.WithSink(rec), ai.WithClock(futureClock()),
			// A generous store timeout: this test is about sharing limits,
			// and 60 concurrent first calls on a loaded machine are slow.
			ai.WithWindowStore(redisstore.New(client, redisstore.WithPrefix("test:"+t.Name()+":"),
				redisstore.WithTimeout(5*time.Second)).Windows()),
			ai.WithLimit(ai.Limit{Tokens: limit}))
		urls = append(urls, srv.URL)
	}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, "POST", urls[i%2]+"/v1/chat/completions", demoKey, chatBody("demo", "replicated call "+strconv.Itoa(i), 40))
		}()
	}
	wg.Wait()
	var used, biggest int64
	admitted, refused := 0, 0
	for _, r := range rec.all() {
		switch r.Status {
		case 200:
			admitted++
			used += r.Usage.TotalTokens()
			biggest = max(biggest, r.Usage.TotalTokens())
		case 429:
			refused++
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
	if used > limit+biggest {
		t.Errorf("two replicas admitted %d tokens, more than the one limit %d plus one call (%d)", used, limit, biggest)
	}
	if admitted == 0 {
		t.Errorf("admitted none (refused %d): the burst should fill the limit", refused)
	}
	if refused == 0 {
		t.Errorf("refused none (admitted %d): the burst should fill the limit", admitted)
	}
}
