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

type exchange struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, method, url string, header map[string]string, body io.Reader) exchange {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchange{status: res.StatusCode, header: res.Header, body: string(b)}
}

// echoHeaders answers with the request header it received, as JSON.
func echoHeaders(t *testing.T) *countingOrigin {
	return newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Header)
	})
}
