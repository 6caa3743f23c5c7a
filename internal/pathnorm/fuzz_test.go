package pathnorm_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/pathnorm"
)

// FuzzNormalize checks what every normal path holds: it starts with '/',
// has no empty or dot segment, no backslash, no escaped dot or separator
// and no control character; it decodes, and normalizing it again changes
// nothing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"/", "", "/a/b", "/a/../b", "/a/%2e%2e/b", "/a/..%2fb", "/f/..%252Fx", `/a\b`, "//a//b/", "/a/..;/b",
		"/%61%7e%C3%a9", "/a b", "/.well-known/x", "/../../..", "/a/.", "*",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, decode bool) {
		mode := pathnorm.Reject
		if decode {
			mode = pathnorm.Decode
		}
		out, err := pathnorm.Normalize(in, mode)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("Normalize(%q) = %q: does not start with '/'", in, out)
		}
		if strings.Contains(out, "//") {
			t.Fatalf("Normalize(%q) = %q: holds an empty segment", in, out)
		}
		for seg := range strings.SplitSeq(out[1:], "/") {
			if isDotSegment(seg) {
				t.Fatalf("Normalize(%q) = %q: holds the dot segment %q", in, out, seg)
			}
		}
		up := strings.ToUpper(out)
		for _, bad := range []string{"%2E", "%2F", "%5C", `\`, "%00"} {
			if strings.Contains(up, bad) {
				t.Fatalf("Normalize(%q) = %q: holds %s", in, out, bad)
			}
		}
		for i := range len(out) {
			if !isPrintableASCII(out[i]) {
				t.Fatalf("Normalize(%q) = %q: holds the byte %#x", in, out, out[i])
			}
		}
		p, err := url.PathUnescape(out)
		if err != nil {
			t.Fatalf("Normalize(%q) = %q: does not decode: %v", in, out, err)
		}
		again, err := pathnorm.Normalize(out, pathnorm.Reject)
		if err != nil {
			t.Fatalf("Normalize(%q) = %q, normalized again: %v", in, out, err)
		}
		if again != out {
			t.Fatalf("Normalize(%q) = %q, normalized again = %q, want it unchanged", in, out, again)
		}
		u, err := pathnorm.URL(&url.URL{Path: p, RawPath: out}, pathnorm.Reject)
		if err != nil {
			t.Fatalf("URL of the normal path %q: %v", out, err)
		}
		if got := u.EscapedPath(); got != out {
			t.Fatalf("URL of the normal path %q has the escaped path %q", out, got)
		}
	})
}

// FuzzIsNormal checks that IsNormal only approves a decoded path whose
// default escaping Normalize would leave unchanged.
func FuzzIsNormal(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/a b/%", "/a/../b", "/é/(x)", "/a;b/.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !pathnorm.IsNormal(p) {
			return
		}
		e := (&url.URL{Path: p}).EscapedPath()
		got, err := pathnorm.Normalize(e, pathnorm.Reject)
		if err != nil {
			t.Fatalf("IsNormal(%q), but Normalize(%q): %v", p, e, err)
		}
		if got != e {
			t.Fatalf("IsNormal(%q), but Normalize(%q) = %q, want it unchanged", p, e, got)
		}
	})
}

// isDotSegment reports whether seg is "." or "..", alone or with a ";" parameter.
func isDotSegment(seg string) bool {
	name, _, _ := strings.Cut(seg, ";")
	return name == "." || name == ".."
}

// isPrintableASCII reports whether b is a printable ASCII byte.
func isPrintableASCII(b byte) bool { return b >= 0x20 && b < 0x7f }
