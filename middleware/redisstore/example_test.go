package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/ratelimit"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// A rate limit shared by every replica through Redis. The example points
// at an address where no Redis listens, to show both outage modes: the
// fail-open limiter keeps serving from a local limiter at its share of the
// limit, the fail-closed one answers 503.
func ExampleStore_Rates() {
	store := redisstore.Open(&redis.Options{Addr: "127.0.0.1:1"}, redisstore.WithPrefix("shop:"))
	defer store.Close()

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	for _, failClosed := range []bool{false, true} {
		h := ratelimit.New(ratelimit.Config{
			Limit:      ratelimit.PerMinute(600),
			Key:        ratelimit.Shared,
			Store:      store.Rates(),
			Replicas:   3, // each replica allows 200/minute on its own while Redis is down
			FailClosed: failClosed,
		})(hello)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		fmt.Println("fail closed:", failClosed, "→", rec.Code)
	}
	// Output:
	// fail closed: false → 200
	// fail closed: true → 503
}

// A store opened where no Redis listens. The first call finds the
// connection refused and opens the circuit breaker that every view of the
// store shares: the next calls, of any view, fail at once without trying
// Redis, with an error the middleware recognizes, and it falls back.
func ExampleOpen() {
	store := redisstore.Open(&redis.Options{Addr: "127.0.0.1:1"}, redisstore.WithTimeout(100*time.Millisecond))
	defer store.Close()
	ctx := context.Background()

	_, err := store.Cache().Get(ctx, "page")
	fmt.Println("cache get skipped Redis:", errors.Is(err, middleware.ErrStoreUnavailable))
	_, err = store.Rates().Take(ctx, "client", ratelimit.PerMinute(60), 1)
	fmt.Println("rate limit skipped Redis:", errors.Is(err, middleware.ErrStoreUnavailable))

	s := store.Status()
	fmt.Println("breaker:", s.State, "failed:", s.Failed, "skipped:", s.Skipped)
	// Output:
	// cache get skipped Redis: false
	// rate limit skipped Redis: true
	// breaker: open failed: 1 skipped: 1
}
