package auth

import "testing"

// FuzzStripped checks that stripped finds a header name exactly when
// foldHeader does.
func FuzzStripped(f *testing.F) {
	for _, s := range []string{"X-Consumer-ID", "x_consumer_id", "X-CONSUMER-TENANT", "Content-Type", "X-Consumer-Ιd", "K", ""} {
		f.Add(s)
	}
	strip := map[string]bool{}
	for _, h := range []string{"X-Consumer-ID", "X-Consumer-Tenant", "X-Consumer-Plan", "x-κ", ""} {
		strip[foldHeader(h)] = true
	}
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := stripped(strip, k), strip[foldHeader(k)]; got != want {
			t.Errorf("stripped(%q) = %v, want %v", k, got, want)
		}
	})
}

// TestStrippingAHeaderDoesNotAllocate guards the point of stripped.
func TestStrippingAHeaderDoesNotAllocate(t *testing.T) {
	strip := map[string]bool{foldHeader("X-Consumer-ID"): true}
	if got := testing.AllocsPerRun(100, func() { stripped(strip, "Content-Type") }); got != 0 {
		t.Errorf("stripped allocates %v times", got)
	}
}
