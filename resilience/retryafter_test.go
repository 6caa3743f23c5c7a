package resilience_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/resilience"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
		wantOK bool
	}{
		{
			name:   "delay-seconds are read",
			header: map[string]string{"Retry-After": "120"},
			want:   2 * time.Minute,
			wantOK: true,
		},
		{
			name:   "zero seconds means now",
			header: map[string]string{"Retry-After": "0"},
			want:   0,
			wantOK: true,
		},
		{
			name:   "an HTTP-date is taken relative to now",
			header: map[string]string{"Retry-After": "Sun, 01 Mar 2026 12:00:30 GMT"},
			want:   30 * time.Second,
			wantOK: true,
		},
		{
			name:   "an obsolete RFC 850 date is accepted",
			header: map[string]string{"Retry-After": "Sunday, 01-Mar-26 12:01:00 GMT"},
			want:   time.Minute,
			wantOK: true,
		},
		{
			name:   "a date in the past means now",
			header: map[string]string{"Retry-After": "Sun, 01 Mar 2026 11:00:00 GMT"},
			want:   0,
			wantOK: true,
		},
		{
			name:   "retry-after-ms wins over Retry-After",
			header: map[string]string{"Retry-After": "10", "retry-after-ms": "250"},
			want:   250 * time.Millisecond,
			wantOK: true,
		},
		{
			name:   "fractional milliseconds are kept",
			header: map[string]string{"retry-after-ms": "1.5"},
			want:   1500 * time.Microsecond,
			wantOK: true,
		},
		{
			name:   "an invalid retry-after-ms falls back to Retry-After",
			header: map[string]string{"Retry-After": "3", "retry-after-ms": "soon"},
			want:   3 * time.Second,
			wantOK: true,
		},
		{name: "negative seconds are invalid", header: map[string]string{"Retry-After": "-1"}, wantOK: false},
		{name: "garbage is invalid", header: map[string]string{"Retry-After": "tomorrow"}, wantOK: false},
		{name: "a number with a suffix is invalid", header: map[string]string{"Retry-After": "5s"}, wantOK: false},
		{
			name:   "a huge number is capped at a day",
			header: map[string]string{"Retry-After": "99999999999999999999999"},
			want:   24 * time.Hour,
			wantOK: true,
		},
		{name: "no header means no hint", header: map[string]string{}, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got, ok := resilience.ParseRetryAfter(h, now)
			if ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%v) ok = %v, want %v", tt.header, ok, tt.wantOK)
			}
			if got != tt.want {
				t.Errorf("ParseRetryAfter(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Sun, 01 Mar 2026 12:00:30 GMT", "-1", "1e9", "99999999999999999999", " 5 ", ""} {
		f.Add(s, "")
		f.Add("", s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ra, ms string) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		h.Set("Retry-After-Ms", ms)
		d, ok := resilience.ParseRetryAfter(h, now)
		inRange(t, fmt.Sprintf("ParseRetryAfter(%q, %q)", ra, ms), d, 0, 24*time.Hour)
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q, %q) = %v with ok false", ra, ms, d)
		}
	})
}
