package platform

import (
	"testing"
	"time"
)

func TestNumbersAreWrittenAsPeopleReadThem(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{humanLatency(2224648 * time.Nanosecond), "2.22 ms"},
		{humanLatency(420 * time.Microsecond), "0.420 ms"},
		{humanLatency(37*time.Millisecond + 260*time.Microsecond), "37.3 ms"},
		{humanLatency(1234 * time.Millisecond), "1234 ms"},
		{humanLatency(12 * time.Second), "12.0 s"},
		{humanLatency(0), "–"},
		{humanSpan(time.Hour), "1 h"},
		{humanSpan(15 * time.Minute), "15 min"},
		{humanSpan(90 * time.Minute), "1 h 30 min"},
		{humanSpan(24 * time.Hour), "24 h"},
		{humanSpan(30 * time.Second), "30 s"},
		{humanCount(uint64(1234567)), "1,234,567"},
		{humanCount(999), "999"},
		{humanCount(int64(-1000)), "-1,000"},
		{humanRate(0.3333), "0.33 req/s"},
		{humanRate(0.001), "< 0.01 req/s"},
		{humanRate(250.4), "250 req/s"},
		{humanMoney(0.01234, "USD"), "0.0123 USD"},
		{humanMoney(12.5, "EUR"), "12.50 EUR"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
