package platform

import (
	"fmt"
	"strconv"
	"time"
)

// The pages show numbers as people read them: latencies in milliseconds
// with a precision that suits their size, spans in minutes or hours,
// counts with thousands separators.

// humanLatency writes d in milliseconds (seconds from 10 s): three
// significant digits, "–" for no value.
func humanLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d <= 0:
		return "–"
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

// humanSpan writes a time span as "15 min", "1 h" or "1 h 30 min".
func humanSpan(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case s != 0 && h == 0 && m == 0:
		return fmt.Sprintf("%d s", s)
	case s != 0:
		return d.String()
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// humanCount writes an integer with thousands separators: 1,234,567.
func humanCount(n any) string {
	var s string
	switch v := n.(type) {
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	default:
		return fmt.Sprint(n)
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// humanRate writes requests per second with two significant decimals.
func humanRate(perSecond float64) string {
	switch {
	case perSecond == 0:
		return "0 req/s"
	case perSecond < 0.01:
		return "< 0.01 req/s"
	case perSecond < 100:
		return fmt.Sprintf("%.2f req/s", perSecond)
	}
	return fmt.Sprintf("%.0f req/s", perSecond)
}

// humanMoney writes an amount with four decimals below 1 (AI calls cost
// fractions of a cent) and two above, with its currency.
func humanMoney(amount float64, currency string) string {
	if amount < 1 {
		return fmt.Sprintf("%.4f %s", amount, currency)
	}
	return fmt.Sprintf("%.2f %s", amount, currency)
}
