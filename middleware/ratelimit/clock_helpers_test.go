package ratelimit_test

import (
	"time"

	"github.com/portico-dev/portico/middleware/internal/mwtest"
)

// fakeClock is an injectable clock that only moves when told to.
type fakeClock = mwtest.Clock

func newClock() *fakeClock {
	return mwtest.NewClock(time.Date(2026, time.March, 14, 12, 0, 0, 0, time.UTC))
}

// testConsumers is a registry shared by the rate-limit and quota tests.
var testConsumers = mwtest.Consumers
