package middleware

import (
	"net/netip"
	"testing"
)

func TestAddrStringIsTheAddressText(t *testing.T) {
	for _, tc := range []struct{ addr, remote string }{
		{"192.0.2.1", "192.0.2.1:5000"},
		{"192.0.2.1", "198.51.100.2:5000"}, // another peer: the address's own text
		{"192.0.2.1", "[::ffff:192.0.2.1]:5000"},
		{"2001:db8::1", "[2001:db8::1]:443"},
		{"192.0.2.1", "@"},
		{"192.0.2.1", ""},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got, want := addrString(a, tc.remote), a.String(); got != want {
			t.Errorf("addrString(%s, %q) = %q, want %q", tc.addr, tc.remote, got, want)
		}
	}
}

func TestAddrStringOfThePeerDoesNotAllocate(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	if n := testing.AllocsPerRun(100, func() { _ = addrString(a, "192.0.2.1:5000") }); n != 0 {
		t.Errorf("allocations = %v, want 0", n)
	}
}
