package guard

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"
)

// Span is the byte range [Start, End) of a finding in a text.
type Span struct{ Start, End int }

// Detector finds sensitive values in a text. Implementations are safe for
// concurrent use.
type Detector interface {
	// Kind names what the detector finds, in upper case ("EMAIL",
	// "CARD"); masked values become placeholders named after it.
	Kind() string
	// Find returns the spans of s it matches, in order, not overlapping.
	Find(s string) []Span
}

// regexDetector matches a regular expression, keeping the matches valid
// accepts (all of them when valid is nil).
type regexDetector struct {
	kind  string
	re    *regexp.Regexp
	pend  *pending
	valid func(string) bool
	hint  string // a literal every match holds
	at    *anchored
}

func (d *regexDetector) Kind() string { return d.kind }

// Pending implements [StreamDetector].
func (d *regexDetector) Pending(s string) int { return d.pend.index(s) }

func (d *regexDetector) Find(s string) []Span {
	if d.hint != "" && !strings.Contains(s, d.hint) {
		return nil
	}
	if d.valid != nil {
		return d.at.find(s, d.pend, d.valid)
	}
	var out []Span
	for _, m := range d.re.FindAllStringIndex(s, -1) {
		out = append(out, Span{m[0], m[1]})
	}
	return out
}

// anchored matches an expression at one position of a text, the byte
// before it as context (for \b).
type anchored struct {
	start, after *regexp.Regexp // ^(?:re) at the text's start; ^(?s:.)(?:re) one byte in
}

func newAnchored(re *regexp.Regexp) *anchored {
	return &anchored{start: regexp.MustCompile(`^(?:` + re.String() + `)`), after: regexp.MustCompile(`^(?s:.)(?:` + re.String() + `)`)}
}

// find returns the valid matches of the expression, trying each position
// that can begin one in turn and going on after a valid match, or one
// byte on after an invalid one: which values are found then depends on
// the text around them only, not on where an invalid match before them
// ended, so a stream split anywhere finds what the whole text does.
func (a *anchored) find(s string, p *pending, valid func(string) bool) []Span {
	var out []Span
	for i := 0; i < len(s); i++ {
		if !p.first[s[i]] {
			continue
		}
		var end int
		if i == 0 {
			m := a.start.FindStringIndex(s)
			if m == nil {
				continue
			}
			end = m[1]
		} else {
			// The byte before i, a whole rune or not, stands for the context.
			m := a.after.FindStringIndex(s[i-1:])
			if m == nil || m[1] == 0 {
				continue
			}
			end = i - 1 + m[1]
		}
		if end > i && valid(s[i:end]) {
			out = append(out, Span{i, end})
			i = end - 1
		}
	}
	return out
}

// builtins are the built-in detectors' compiled expressions, built the
// first time one of those detectors is made or used: a program that
// links this package without using them (a gateway without guardrails)
// neither compiles them at start nor keeps them in its heap.
type builtins struct {
	emailRE, phoneRE, cardRE, ibanRE, ipv4RE, ipv6RE                               *regexp.Regexp
	emailPending, phonePending, cardPending, ibanPending, ipv4Pending, ipv6Pending *pending
	phoneAt, cardAt, ibanAt, ipv4At, ipv6At                                        *anchored
	secrets                                                                        []secretPattern
	secretPending                                                                  []*pending
}

var builtin = sync.OnceValue(func() *builtins {
	b := &builtins{
		emailRE: regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`),
		phoneRE: regexp.MustCompile(`(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]?\d{2,4}){1,4}`),
		cardRE:  regexp.MustCompile(`\b\d(?:[ \-]?\d){12,18}\b`),
		ibanRE:  regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`),
		ipv4RE:  regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`),
		ipv6RE:  regexp.MustCompile(`(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{1,4}`),
	}
	b.emailPending, b.phonePending, b.cardPending = newPending(b.emailRE), newPending(b.phoneRE), newPending(b.cardRE)
	b.ibanPending, b.ipv4Pending, b.ipv6Pending = newPending(b.ibanRE), newPending(b.ipv4RE), newPending(b.ipv6RE)
	b.phoneAt, b.cardAt, b.ibanAt = newAnchored(b.phoneRE), newAnchored(b.cardRE), newAnchored(b.ibanRE)
	b.ipv4At, b.ipv6At = newAnchored(b.ipv4RE), newAnchored(b.ipv6RE)
	b.secrets = secretPatterns()
	b.secretPending = make([]*pending, len(b.secrets))
	for i, p := range b.secrets {
		b.secretPending[i] = newPending(p.re)
	}
	return b
})

// Email finds e-mail addresses.
func Email() Detector {
	b := builtin()
	return &regexDetector{kind: "EMAIL", re: b.emailRE, pend: b.emailPending, hint: "@"}
}

// Phone finds telephone numbers: 7 to 15 digits, written with a leading
// "+" or an area code in parentheses, or at least 10 digits long, so that
// dates and short numbers are not taken for phone numbers.
func Phone() Detector {
	b := builtin()
	return &regexDetector{kind: "PHONE", re: b.phoneRE, pend: b.phonePending, at: b.phoneAt, valid: func(s string) bool {
		n := digits(s)
		if n < 7 || n > 15 {
			return false
		}
		return strings.HasPrefix(s, "+") || strings.Contains(s, "(") || n >= 10
	}}
}

// Card finds payment card numbers: 13 to 19 digits, optionally grouped by
// spaces or dashes, that pass the Luhn check.
func Card() Detector {
	b := builtin()
	return &regexDetector{kind: "CARD", re: b.cardRE, pend: b.cardPending, at: b.cardAt, valid: luhn}
}

// IBAN finds international bank account numbers whose mod-97 check holds.
func IBAN() Detector {
	b := builtin()
	return &regexDetector{kind: "IBAN", re: b.ibanRE, pend: b.ibanPending, at: b.ibanAt, valid: iban}
}

// IP finds IPv4 and IPv6 addresses.
func IP() Detector { return ipDetector{} }

type ipDetector struct{}

func (ipDetector) Kind() string { return "IP" }

// Pending implements [StreamDetector].
func (ipDetector) Pending(s string) int {
	b := builtin()
	return min(b.ipv4Pending.index(s), b.ipv6Pending.index(s))
}

func (ipDetector) Find(s string) []Span {
	valid := func(s string) bool { _, err := netip.ParseAddr(s); return err == nil }
	b := builtin()
	return sortSpans(append(b.ipv4At.find(s, b.ipv4Pending, valid), b.ipv6At.find(s, b.ipv6Pending, valid)...))
}

// secretPattern is a secret format [Secrets] finds, with the literals
// one of which a match holds, so that a text holding none skips the
// expression.
type secretPattern struct {
	hints []string
	re    *regexp.Regexp
}

// secretPatterns compiles the secret formats [Secrets] finds.
func secretPatterns() []secretPattern {
	return []secretPattern{
		{[]string{"AKIA", "ASIA"}, regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},                                                                // AWS access key ID
		{[]string{"aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"}, regexp.MustCompile(`(?i)aws_secret_access_key\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}`)}, // AWS secret key in an assignment
		{[]string{"AIza"}, regexp.MustCompile(`\bAIza[0-9A-Za-z_\-]{35}`)},                                                                             // Google Cloud API key
		{[]string{"AccountKey="}, regexp.MustCompile(`AccountKey=[A-Za-z0-9+/]{86}==`)},                                                                // Azure storage account key
		{[]string{"Q~"}, regexp.MustCompile(`\b[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}`)},                                                       // Azure Entra client secret
		{[]string{"sk-"}, regexp.MustCompile(`\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}`)},                                               // OpenAI and Anthropic API keys
		{[]string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}, regexp.MustCompile(`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b`)},                          // GitHub token
		{[]string{"github_pat_"}, regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}`)},                                                                // GitHub fine-grained token
		{[]string{"xox"}, regexp.MustCompile(`\bxox[abprse]-[A-Za-z0-9\-]{10,}`)},                                                                      // Slack token
		{[]string{"PRIVATE KEY-----"}, regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`)},               // PEM private key
		{[]string{"eyJ"}, regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+`)},                                             // JWT
	}
}

// Secrets finds common credential formats: AWS access keys (and secret
// keys in assignments), Google Cloud API keys, Azure storage keys and
// client secrets, OpenAI, Anthropic, GitHub and Slack tokens, PEM private
// keys and JWTs.
func Secrets() Detector { return secretDetector{} }

type secretDetector struct{}

func (secretDetector) Kind() string { return "SECRET" }

// Pending implements [StreamDetector].
func (secretDetector) Pending(s string) int {
	i := len(s)
	for _, p := range builtin().secretPending {
		i = min(i, p.index(s))
	}
	return i
}

func (secretDetector) Find(s string) []Span {
	var out []Span
	for _, p := range builtin().secrets {
		if !containsAny(s, p.hints) {
			continue
		}
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			out = append(out, Span{m[0], m[1]})
		}
	}
	return sortSpans(out)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Regexp finds the matches of re, named kind.
func Regexp(kind string, re *regexp.Regexp) Detector {
	return &regexDetector{kind: kind, re: re, pend: newPending(re)}
}

// Words finds the given words and phrases as whole words, ignoring case.
func Words(kind string, words ...string) Detector {
	quoted := make([]string, 0, len(words))
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" {
			quoted = append(quoted, regexp.QuoteMeta(w))
		}
	}
	re := regexp.MustCompile(`(?i)\b(?:` + strings.Join(quoted, "|") + `)\b`)
	return &regexDetector{kind: kind, re: re, pend: newPending(re)}
}

func digits(s string) int {
	n := 0
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// luhn reports whether the digits of s pass the Luhn check.
func luhn(s string) bool {
	sum, n, double := 0, 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
		double = !double
	}
	return n >= 13 && n <= 19 && sum%10 == 0
}

// iban reports whether s, spaces removed, is 15 to 34 characters whose
// ISO 13616 mod-97 check gives 1.
func iban(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	r := s[4:] + s[:4]
	m := 0
	for i := range len(r) {
		c := r[i]
		switch {
		case c >= '0' && c <= '9':
			m = (m*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			m = (m*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return m == 1
}

// sortSpans orders spans by start and drops those overlapping an earlier one.
func sortSpans(spans []Span) []Span {
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].Start < spans[j-1].Start; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	out := spans[:0]
	end := -1
	for _, sp := range spans {
		if sp.Start >= end {
			out = append(out, sp)
			end = sp.End
		}
	}
	return out
}
