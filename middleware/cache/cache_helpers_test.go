package cache_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/middleware/internal/mwtest"
)

// manualClock is an injectable clock that tests move by hand.
type manualClock = mwtest.Clock

func newManualClock() *manualClock {
	return mwtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// countingOrigin is a real upstream server on loopback that counts its calls.
type countingOrigin = mwtest.CountingOrigin

var newCountingOrigin = mwtest.NewCountingOrigin

// frontFor starts a real front server: mw wrapped around a reverse proxy
// to the countingOrigin.
var frontFor = mwtest.FrontFor

// exchange is what fetch got back.
type exchange struct {
	status int
	header http.Header
	body   string
}

// fetch sends a request to url and returns the exchange.
func fetch(t *testing.T, method, url string, header map[string]string, body io.Reader) exchange {
	t.Helper()
	status, h, b := mwtest.Fetch(t, method, url, header, body)
	return exchange{status: status, header: h, body: b}
}

// echoHeaders answers with the request header it received, as JSON.
func echoHeaders(t *testing.T) *countingOrigin {
	return newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Header)
	})
}
