package pathnorm_test

import (
	"errors"
	"net/url"
	"testing"

	"go.uber.org/goleak"

	"github.com/portico-dev/portico/internal/pathnorm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		mode    pathnorm.Mode
		want    string
		wantErr error
	}{
		{name: "a clean path is unchanged", in: "/api/users/7", want: "/api/users/7"},
		{name: "the root is unchanged", in: "/", want: "/"},
		{name: "an empty path is the root", in: "", want: "/"},
		{name: "a trailing slash is kept", in: "/api/users/", want: "/api/users/"},
		{name: "a dot segment is dropped", in: "/a/./b", want: "/a/b"},
		{name: "a double-dot segment drops the one before", in: "/api/public/../private/x", want: "/api/private/x"},
		{name: "a final double-dot leaves a trailing slash", in: "/a/b/..", want: "/a/"},
		{name: "a final dot leaves a trailing slash", in: "/a/b/.", want: "/a/b/"},
		{name: "double dots above the root stop at the root", in: "/../../x", want: "/x"},
		{name: "the root's double dot is the root", in: "/..", want: "/"},
		{name: "repeated slashes are merged", in: "//a///b//", want: "/a/b/"},
		{name: "dots and slashes together resolve", in: "/a//..//b/./c/", want: "/b/c/"},
		{name: "segments that only start with dots are kept", in: "/.well-known/...x/..x/.x", want: "/.well-known/...x/..x/.x"},
		{name: "escaped unreserved characters are decoded", in: "/%61pi/%7Euser/%2d%5F", want: "/api/~user/-_"},
		{name: "other escapes keep their case-normalized hex", in: "/a%3bb/%c3%a9/%25", want: "/a%3Bb/%C3%A9/%25"},
		{name: "an escaped percent stays escaped", in: "/f/..%252F", want: "/f/..%252F"},
		{name: "sub-delimiters are kept literal", in: "/a;b=1/c:d@e/(x)*!$&'+,", want: "/a;b=1/c:d@e/(x)*!$&'+,"},
		{name: "bytes that may not appear in a path are escaped", in: "/a b/\"<>[]{}|^`", want: "/a%20b/%22%3C%3E%5B%5D%7B%7D%7C%5E%60"},
		{name: "a semicolon in a segment after a dot segment is data", in: "/a/x..;/b", want: "/a/x..;/b"},

		{name: "an escaped dot is refused", in: "/api/public/%2e%2e/private", wantErr: pathnorm.ErrEscaped},
		{name: "an escaped dot inside a name is refused", in: "/file%2Etxt", wantErr: pathnorm.ErrEscaped},
		{name: "an escaped slash is refused", in: "/api/public/..%2fprivate", wantErr: pathnorm.ErrEscaped},
		{name: "an escaped backslash is refused", in: "/a%5Cb", wantErr: pathnorm.ErrEscaped},
		{name: "a backslash is refused", in: `/a\..\b`, wantErr: pathnorm.ErrEscaped},
		{name: "an escaped NUL is refused", in: "/a%00b", wantErr: pathnorm.ErrControl},
		{name: "an escaped line feed is refused", in: "/a%0a", wantErr: pathnorm.ErrControl},
		{name: "an escaped DEL is refused", in: "/a%7F", wantErr: pathnorm.ErrControl},
		{name: "a literal tab is refused", in: "/a\tb", wantErr: pathnorm.ErrControl},
		{name: "a double dot with parameters is refused", in: "/api/public/..;x=1/private", wantErr: pathnorm.ErrDotParam},
		{name: "a dot with parameters is refused", in: "/a/.;/b", wantErr: pathnorm.ErrDotParam},
		{name: "a path without a leading slash is refused", in: "*", wantErr: pathnorm.ErrRelative},
		{name: "a truncated escape is refused", in: "/a%2", wantErr: pathnorm.ErrEscape},
		{name: "a non-hex escape is refused", in: "/a%zz", wantErr: pathnorm.ErrEscape},

		{
			name: "decode mode decodes escaped dots before resolving",
			mode: pathnorm.Decode,
			in:   "/api/public/%2e%2E/private/x",
			want: "/api/private/x",
		},
		{
			name: "decode mode reads an escaped slash as a separator",
			mode: pathnorm.Decode,
			in:   "/api/public/..%2fprivate%2Fx",
			want: "/api/private/x",
		},
		{
			name: "decode mode reads a backslash as a separator",
			mode: pathnorm.Decode,
			in:   `/a\..\b%5cc`,
			want: "/b/c",
		},
		{
			name: "decode mode keeps an escaped dot inside a name as a dot",
			mode: pathnorm.Decode,
			in:   "/file%2etxt",
			want: "/file.txt",
		},
		{
			name: "decode mode does not decode twice",
			mode: pathnorm.Decode,
			in:   "/f/..%252Fx",
			want: "/f/..%252Fx",
		},
		{
			name:    "decode mode still refuses control characters",
			mode:    pathnorm.Decode,
			in:      "/a%00",
			wantErr: pathnorm.ErrControl,
		},
		{
			name:    "decode mode still refuses dot segments with parameters",
			mode:    pathnorm.Decode,
			in:      "/a/%2e%2e;x/b",
			wantErr: pathnorm.ErrDotParam,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pathnorm.Normalize(tt.in, tt.mode)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Normalize(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsNormal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
		want bool
	}{
		{"a clean path is normal", "/api/users/7", true},
		{"the root is normal", "/", true},
		{"a trailing slash is normal", "/api/", true},
		{"a decoded percent is normal", "/f/100%", true},
		{"a space is normal (it is escaped on the wire)", "/a b", true},
		{"dotted names are normal", "/.well-known/a.b/..x", true},
		{"the empty path is not", "", false},
		{"a relative path is not", "api", false},
		{"a double slash is not", "/a//b", false},
		{"a leading double slash is not", "//a", false},
		{"a dot segment is not", "/a/./b", false},
		{"a final double dot is not", "/a/..", false},
		{"a dot segment with parameters is not", "/a/..;x/b", false},
		{"a backslash is not", `/a\b`, false},
		{"a control character is not", "/a\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pathnorm.IsNormal(tt.path); got != tt.want {
				t.Errorf("IsNormal(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		url      *url.URL
		wantPath string
		wantRaw  string
		wantErr  error
	}{
		{name: "a normal URL is returned as is", url: &url.URL{Path: "/a/b"}, wantPath: "/a/b"},
		{name: "a parsed raw path is normalized", url: mustParse(t, "/a/%2e%2E/b"), wantErr: pathnorm.ErrEscaped},
		{name: "dot segments of a decoded path are resolved", url: &url.URL{Path: "/a/../b"}, wantPath: "/b"},
		{
			name:     "an escaped reserved character keeps its escape",
			url:      mustParse(t, "/a/./b%3bc"),
			wantPath: "/a/b;c",
			wantRaw:  "/a/b%3Bc",
		},
		{name: "an opaque path is taken as the escaped path", url: &url.URL{Opaque: "/a/../%62"}, wantPath: "/b"},
		{name: "an opaque that is not a path is refused", url: &url.URL{Opaque: "x:y"}, wantErr: pathnorm.ErrRelative},
		{name: "an empty path is the root", url: &url.URL{Scheme: "http", Host: "x"}, wantPath: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := pathnorm.URL(tt.url, pathnorm.Reject)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("URL error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if u.Path != tt.wantPath {
				t.Errorf("Path = %q, want %q", u.Path, tt.wantPath)
			}
			if u.RawPath != tt.wantRaw {
				t.Errorf("RawPath = %q, want %q", u.RawPath, tt.wantRaw)
			}
			if u.Opaque != "" {
				t.Errorf("Opaque = %q, want it cleared", u.Opaque)
			}
		})
	}
	t.Run("a normal URL is not copied", func(t *testing.T) {
		t.Parallel()
		in := &url.URL{Path: "/a/b"}
		if u, _ := pathnorm.URL(in, pathnorm.Reject); u != in {
			t.Errorf("URL returned a copy of a normal URL")
		}
	})
	t.Run("a changed URL is a copy", func(t *testing.T) {
		t.Parallel()
		in := &url.URL{Path: "/a/../b"}
		if _, err := pathnorm.URL(in, pathnorm.Reject); err != nil {
			t.Fatal(err)
		}
		if got, want := in.Path, "/a/../b"; got != want {
			t.Errorf("the input's Path became %q, want %q", got, want)
		}
	})
}

func TestURLOfANormalPathAllocatesNothing(t *testing.T) {
	u := &url.URL{Path: "/api/users/7/orders", RawQuery: "a=1"}
	if n := testing.AllocsPerRun(100, func() { _, _ = pathnorm.URL(u, pathnorm.Reject) }); n != 0 {
		t.Errorf("allocations = %v, want 0", n)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func BenchmarkURL(b *testing.B) {
	for _, bb := range []struct{ name, path string }{
		{"normal", "/api/users/7/orders"},
		{"dot segments", "/api/public/../users/./7//orders"},
		{"escapes", "/api/us%65rs/7/%C3%A9"},
	} {
		u, err := url.Parse(bb.path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pathnorm.URL(u, pathnorm.Reject); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
