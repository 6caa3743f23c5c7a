package redisstore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/middleware"
	"github.com/portico-dev/portico/middleware/redisstore"
)

// A rate limit shared by every replica through Redis. The example points
// at an address where no Redis listens, to show both outage modes: the
// fail-open limiter keeps serving from a local limiter at its share of the
// limit, the fail-closed one answers 503.
func ExampleStore_Rates() {
	client := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond,
	})
	defer client.Close()
	store := redisstore.New(client, redisstore.WithPrefix("shop:"))

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	for _, failClosed := range []bool{false, true} {
		h := middleware.RateLimit(middleware.RateLimitConfig{
			Limit:      middleware.PerMinute(600),
			Key:        middleware.KeyRoute,
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
