package guard_test

import (
	"regexp"
	"testing"

	"github.com/portico-dev/portico/aiclient/guard"
)

func TestDetectorsFindWhatTheyShouldAndNothingElse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		d    guard.Detector
		text string
		want []string
	}{
		{"an e-mail address", guard.Email(), "write to jane.doe+x@mail.example.com today", []string{"jane.doe+x@mail.example.com"}},
		{"no e-mail in a handle", guard.Email(), "ping @jane on chat", nil},
		{"an international phone number", guard.Phone(), "call +44 20 7946 0958 now", []string{"+44 20 7946 0958"}},
		{"a phone number with an area code", guard.Phone(), "call (555) 123-4567", []string{"(555) 123-4567"}},
		{"no phone number in a date", guard.Phone(), "on 2024-01-15 at noon", nil},
		{"a Luhn-valid card number", guard.Card(), "card 4111 1111 1111 1111 exp", []string{"4111 1111 1111 1111"}},
		{"a dashed card number", guard.Card(), "5500-0000-0000-0004", []string{"5500-0000-0000-0004"}},
		{"no card that fails Luhn", guard.Card(), "order 4111 1111 1111 1112", nil},
		{"an IBAN", guard.IBAN(), "pay to DE89 3704 0044 0532 0130 00 please", []string{"DE89 3704 0044 0532 0130 00"}},
		{"a compact IBAN", guard.IBAN(), "GB82WEST12345698765432", []string{"GB82WEST12345698765432"}},
		{"no IBAN that fails mod-97", guard.IBAN(), "DE89 3704 0044 0532 0130 01", nil},
		{"an IPv4 address", guard.IP(), "host 192.168.1.20 down", []string{"192.168.1.20"}},
		{"an IPv6 address", guard.IP(), "host 2001:db8::8a2e:370:7334 down", []string{"2001:db8::8a2e:370:7334"}},
		{"no address in a version or a time", guard.IP(), "v1.2.3 at 12:30:45 and 999.1.1.1", nil},
		{"an AWS access key", guard.Secrets(), "key AKIAIOSFODNN7EXAMPLE ok", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{"a Google Cloud API key", guard.Secrets(), "AIzaSyA1234567890abcdefghijklmnopqrstuv", []string{"AIzaSyA1234567890abcdefghijklmnopqrstuv"}},
		{"an OpenAI key", guard.Secrets(), "sk-proj-abcdefghijklmnopqrstuvwxyz0123", []string{"sk-proj-abcdefghijklmnopqrstuvwxyz0123"}},
		{"an Anthropic key", guard.Secrets(), "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", []string{"sk-ant-api03-abcdefghijklmnopqrstuvwxyz"}},
		{"a GitHub token", guard.Secrets(), "ghp_abcdefghijklmnopqrstuvwxyz0123456789", []string{"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}},
		{"a Slack token", guard.Secrets(), "xoxb-1234567890-abcdefghij", []string{"xoxb-1234567890-abcdefghij"}},
		{"an Azure client secret", guard.Secrets(), "abc8Q~abcdefghijklmnopqrstuvwxyz0123456", []string{"abc8Q~abcdefghijklmnopqrstuvwxyz0123456"}},
		{"a private key", guard.Secrets(), "x -----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- y", []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"}},
		{"a JWT", guard.Secrets(), "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}},
		{"no secret in prose", guard.Secrets(), "the sky is blue and ask-me later", nil},
		{"a custom expression", guard.Regexp("TICKET", regexp.MustCompile(`TCK-\d+`)), "see TCK-42", []string{"TCK-42"}},
		{"listed words in any case", guard.Words("CODENAME", "Bluebird", "red fox"), "Project BLUEBIRD and the Red Fox, not bluebirds", []string{"BLUEBIRD", "Red Fox"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, sp := range tc.d.Find(tc.text) {
				got = append(got, tc.text[sp.Start:sp.End])
			}
			if g, w := len(got), len(tc.want); g != w {
				t.Fatalf("found %q, want %q", got, tc.want)
			}
			for i := range got {
				if g, w := got[i], tc.want[i]; g != w {
					t.Errorf("match %d = %q, want %q", i, g, w)
				}
			}
		})
	}
}

func TestRegressionACardAfterALongerDigitRunWasMissed(t *testing.T) {
	t.Parallel()
	// The expression matched "1 4111 1111 1111 111" first (19 digits, no
	// Luhn), and the search went on after it.
	text := "1 4111 1111 1111 1111"
	spans := guard.Card().Find(text)
	if got, want := len(spans), 1; got != want {
		t.Fatalf("found %d cards, want %d", got, want)
	}
	if got, want := text[spans[0].Start:spans[0].End], "4111 1111 1111 1111"; got != want {
		t.Errorf("found %q, want %q", got, want)
	}
}
