package upstream_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/upstream"
)

func TestParseHashKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    upstream.HashKey
		wantErr bool
	}{
		{name: "a header key names the header", in: "header:X-User-ID", want: upstream.HashKey{Header: "X-User-ID"}},
		{name: "a cookie key names the cookie", in: "cookie:session", want: upstream.HashKey{Cookie: "session"}},
		{name: "a sticky cookie sets Sticky", in: "sticky-cookie:affinity", want: upstream.HashKey{Cookie: "affinity", Sticky: true}},
		{name: "client_ip stands alone", in: "client_ip", want: upstream.HashKey{ClientIP: true}},
		{name: "spaces around the key are ignored", in: " header:X-Tenant ", want: upstream.HashKey{Header: "X-Tenant"}},
		{name: "client_ip takes no name", in: "client_ip:x", wantErr: true},
		{name: "a header needs a name", in: "header:", wantErr: true},
		{name: "a name must be a token", in: "cookie:a b", wantErr: true},
		{name: "an unknown kind is an error", in: "query:id", wantErr: true},
		{name: "an empty string is an error", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := upstream.ParseHashKey(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseHashKey(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("ParseHashKey(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if err == nil && got.String() != strings.ReplaceAll(tt.in, " ", "") {
				t.Errorf("String() = %q, want %q", got.String(), strings.ReplaceAll(tt.in, " ", ""))
			}
		})
	}
}

func FuzzParseHashKey(f *testing.F) {
	for _, s := range []string{"header:X-User", "cookie:s", "sticky-cookie:a", "client_ip", "header:", ":", "cookie:a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := upstream.ParseHashKey(s)
		if err != nil {
			return
		}
		again, err := upstream.ParseHashKey(k.String())
		if err != nil {
			t.Fatalf("ParseHashKey(%q) = %+v, but its String %q does not parse: %v", s, k, k.String(), err)
		}
		if again != k {
			t.Fatalf("ParseHashKey(%q) = %+v, but its String %q parses to %+v", s, k, k.String(), again)
		}
	})
}

func TestCookieValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{name: "a cookie among others is found", header: []string{"a=1; session=abc; b=2"}, want: "abc"},
		{name: "the first of two lines is searched first", header: []string{"x=1", "session=second"}, want: "second"},
		{name: "the first occurrence wins", header: []string{"session=one; session=two"}, want: "one"},
		{name: "quotes are removed", header: []string{`session="quoted"`}, want: "quoted"},
		{name: "a name that only shares a prefix does not match", header: []string{"sessionid=1"}, want: ""},
		{name: "no cookie header gives nothing", want: ""},
		{name: "an empty value is empty", header: []string{"session="}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tt.header {
				h.Add("Cookie", v)
			}
			if got := upstream.CookieValue(h, "session"); got != tt.want {
				t.Errorf("CookieValue = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzCookieValue checks that CookieValue never panics, returns part of
// the header, and agrees with net/http whenever net/http finds a cookie of
// that name first and the value is made of valid cookie octets.
func FuzzCookieValue(f *testing.F) {
	f.Add("a=1; session=abc", "session")
	f.Add(`session="q"; x=y`, "session")
	f.Add(";;; =; session", "session")
	f.Fuzz(func(t *testing.T, line, name string) {
		h := http.Header{"Cookie": {line}}
		got := upstream.CookieValue(h, name)
		if !strings.Contains(line, got) {
			t.Fatalf("CookieValue(%q, %q) = %q, not part of the header", line, name, got)
		}
		r := &http.Request{Header: h}
		all := r.Cookies()
		if len(all) == 0 || all[0].Name != name || all[0].Quoted {
			return
		}
		// The first cookie net/http accepts has our name: when it is also
		// the first part of the line, both parsers must agree.
		if strings.ContainsFunc(got, func(c rune) bool { return c <= ' ' || c >= 0x7f || strings.ContainsRune("\";,\\", c) }) {
			return
		}
		if first, _, _ := strings.Cut(line, ";"); strings.HasPrefix(strings.TrimSpace(first), name+"=") && got != all[0].Value {
			t.Fatalf("CookieValue(%q, %q) = %q, net/http says %q", line, name, got, all[0].Value)
		}
	})
}
