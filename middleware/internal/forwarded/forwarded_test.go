package forwarded_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/middleware/internal/forwarded"
)

func TestAppendFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{name: "a single element yields its for node", lines: []string{"for=192.0.2.60;proto=http;by=203.0.113.43"}, want: []string{"192.0.2.60"}},
		{name: "elements are split on commas", lines: []string{"for=192.0.2.43, for=198.51.100.17"}, want: []string{"192.0.2.43", "198.51.100.17"}},
		{name: "several field lines are joined in order", lines: []string{"for=a1", "for=a2, for=a3"}, want: []string{"a1", "a2", "a3"}},
		{name: "a quoted IPv6 node with a port is unquoted", lines: []string{`for="[2001:db8:cafe::17]:4711"`}, want: []string{"[2001:db8:cafe::17]:4711"}},
		{name: "parameter names ignore case", lines: []string{"For=192.0.2.1"}, want: []string{"192.0.2.1"}},
		{name: "a comma inside quotes does not split", lines: []string{`for="a,b";by=x, for=c`}, want: []string{"a,b", "c"}},
		{name: "quoted pairs are unescaped", lines: []string{`for="a\"b\\c"`}, want: []string{`a"b\c`}},
		{name: "an element without for yields an empty node", lines: []string{"proto=https, for=192.0.2.1"}, want: []string{"", "192.0.2.1"}},
		{name: "obfuscated identifiers pass through", lines: []string{"for=_hidden, for=unknown"}, want: []string{"_hidden", "unknown"}},
		{name: "an unterminated quote stops the line", lines: []string{`for=192.0.2.1, for="oops`}, want: []string{"192.0.2.1", ""}},
		{name: "a pair without a value stops the line", lines: []string{"for=192.0.2.1, for=, for=192.0.2.9"}, want: []string{"192.0.2.1", ""}},
		{name: "a pair without a name stops the line", lines: []string{"=x"}, want: []string{""}},
		{name: "spaces around separators are allowed", lines: []string{" for=192.0.2.1 ; proto=http , for=192.0.2.2 "}, want: []string{"192.0.2.1", "192.0.2.2"}},
		{name: "an empty line yields nothing", lines: []string{""}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := forwarded.AppendFor(nil, tt.lines)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("AppendFor(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

func TestAppendXFF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{name: "entries are split and trimmed", lines: []string{"203.0.113.7 , 10.0.0.1"}, want: []string{"203.0.113.7", "10.0.0.1"}},
		{name: "several lines are joined in order", lines: []string{"1.1.1.1", "2.2.2.2,3.3.3.3"}, want: []string{"1.1.1.1", "2.2.2.2", "3.3.3.3"}},
		{name: "empty entries are kept", lines: []string{"1.1.1.1,,2.2.2.2"}, want: []string{"1.1.1.1", "", "2.2.2.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := forwarded.AppendXFF(nil, tt.lines); !slices.Equal(got, tt.want) {
				t.Fatalf("AppendXFF(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseNode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "" means not an address
	}{
		{name: "an IPv4 address parses", in: "192.0.2.1", want: "192.0.2.1"},
		{name: "an IPv4 address with a port parses", in: "192.0.2.1:8080", want: "192.0.2.1"},
		{name: "a bare IPv6 address parses", in: "2001:db8::1", want: "2001:db8::1"},
		{name: "a bracketed IPv6 address parses", in: "[2001:db8::1]", want: "2001:db8::1"},
		{name: "a bracketed IPv6 address with a port parses", in: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "an obfuscated port is accepted", in: "[2001:db8::1]:_p1", want: "2001:db8::1"},
		{name: "an IPv4-mapped IPv6 address is unmapped", in: "::ffff:192.0.2.1", want: "192.0.2.1"},
		{name: "a zone is dropped", in: "fe80::1%eth0", want: "fe80::1"},
		{name: "unknown is not an address", in: "unknown"},
		{name: "an obfuscated identifier is not an address", in: "_hidden"},
		{name: "a hostname is not an address", in: "example.com"},
		{name: "a port out of range is refused", in: "192.0.2.1:70000"},
		{name: "an IPv4 address in brackets is refused", in: "[192.0.2.1]"},
		{name: "an unclosed bracket is refused", in: "[2001:db8::1"},
		{name: "garbage after the bracket is refused", in: "[2001:db8::1]x"},
		{name: "an empty node is refused", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, ok := forwarded.ParseNode(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("ParseNode(%q) = %v, want no address", tt.in, a)
				}
				return
			}
			if !ok {
				t.Fatalf("ParseNode(%q) found no address, want %s", tt.in, tt.want)
			}
			if got, want := a, netip.MustParseAddr(tt.want); got != want {
				t.Errorf("ParseNode(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func FuzzForwarded(f *testing.F) {
	for _, s := range []string{
		"for=192.0.2.60;proto=http;by=203.0.113.43",
		`for="[2001:db8:cafe::17]:4711", for=unknown`,
		`for="a\"b", for=_x`, "for=", `for="`, ";;,,", "For=1.2.3.4:80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		nodes := forwarded.AppendFor(nil, []string{line})
		if n := strings.Count(line, ",") + 1; len(nodes) > n {
			t.Fatalf("%d nodes from %q, which has at most %d elements", len(nodes), line, n)
		}
		for _, node := range nodes {
			a, ok := forwarded.ParseNode(node)
			if !ok {
				continue
			}
			if !a.IsValid() {
				t.Fatalf("ParseNode(%q) = %v: want a valid address", node, a)
			}
			if a.Zone() != "" {
				t.Fatalf("ParseNode(%q) = %v: want an address without a zone", node, a)
			}
			if a.Is4In6() {
				t.Fatalf("ParseNode(%q) = %v: want IPv4 unmapped", node, a)
			}
		}
		// A node written back as a quoted for= value parses to itself.
		for _, node := range nodes {
			if strings.ContainsAny(node, "\x00\r\n\x7f") || strings.ContainsFunc(node, func(r rune) bool { return r < 0x20 && r != '\t' }) {
				continue
			}
			q := `for="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(node) + `"`
			if got := forwarded.AppendFor(nil, []string{q}); !slices.Equal(got, []string{node}) {
				t.Fatalf("round trip of %q through %q gave %q", node, q, got)
			}
		}
	})
}
