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
		{
			name: "an e-mail address",
			d:    guard.Email(),
			text: "write to jane.doe+x@mail.example.com today",
			want: []string{"jane.doe+x@mail.example.com"},
		},
		{
			name: "no e-mail in a handle",
			d:    guard.Email(),
			text: "ping @jane on chat",
			want: nil,
		},
		{
			name: "an international phone number",
			d:    guard.Phone(),
			text: "call +44 20 7946 0958 now",
			want: []string{"+44 20 7946 0958"},
		},
		{
			name: "a phone number with an area code",
			d:    guard.Phone(),
			text: "call (555) 123-4567",
			want: []string{"(555) 123-4567"},
		},
		{
			name: "no phone number in a date",
			d:    guard.Phone(),
			text: "on 2024-01-15 at noon",
			want: nil,
		},
		{
			name: "a Luhn-valid card number",
			d:    guard.Card(),
			text: "card 4111 1111 1111 1111 exp",
			want: []string{"4111 1111 1111 1111"},
		},
		{
			name: "a dashed card number",
			d:    guard.Card(),
			text: "5500-0000-0000-0004",
			want: []string{"5500-0000-0000-0004"},
		},
		{
			name: "no card that fails Luhn",
			d:    guard.Card(),
			text: "order 4111 1111 1111 1112",
			want: nil,
		},
		{
			name: "an IBAN",
			d:    guard.IBAN(),
			text: "pay to DE89 3704 0044 0532 0130 00 please",
			want: []string{"DE89 3704 0044 0532 0130 00"},
		},
		{
			name: "a compact IBAN",
			d:    guard.IBAN(),
			text: "GB82WEST12345698765432",
			want: []string{"GB82WEST12345698765432"},
		},
		{
			name: "no IBAN that fails mod-97",
			d:    guard.IBAN(),
			text: "DE89 3704 0044 0532 0130 01",
			want: nil,
		},
		{
			name: "an IPv4 address",
			d:    guard.IP(),
			text: "host 192.168.1.20 down",
			want: []string{"192.168.1.20"},
		},
		{
			name: "an IPv6 address",
			d:    guard.IP(),
			text: "host 2001:db8::8a2e:370:7334 down",
			want: []string{"2001:db8::8a2e:370:7334"},
		},
		{
			name: "no address in a version or a time",
			d:    guard.IP(),
			text: "v1.2.3 at 12:30:45 and 999.1.1.1",
			want: nil,
		},
		{
			name: "an AWS access key",
			d:    guard.Secrets(),
			text: "key AKIAIOSFODNN7EXAMPLE ok",
			want: []string{"AKIAIOSFODNN7EXAMPLE"},
		},
		{
			name: "a Google Cloud API key",
			d:    guard.Secrets(),
			text: "AIzaSyA1234567890abcdefghijklmnopqrstuv",
			want: []string{"AIzaSyA1234567890abcdefghijklmnopqrstuv"},
		},
		{
			name: "an OpenAI key",
			d:    guard.Secrets(),
			text: "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
			want: []string{"sk-proj-abcdefghijklmnopqrstuvwxyz0123"},
		},
		{
			name: "an Anthropic key",
			d:    guard.Secrets(),
			text: "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
			want: []string{"sk-ant-api03-abcdefghijklmnopqrstuvwxyz"},
		},
		{
			name: "a GitHub token",
			d:    guard.Secrets(),
			text: "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
			want: []string{"ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
		},
		{
			name: "a Slack token",
			d:    guard.Secrets(),
			text: "xoxb-1234567890-abcdefghij",
			want: []string{"xoxb-1234567890-abcdefghij"},
		},
		{
			name: "an Azure client secret",
			d:    guard.Secrets(),
			text: "abc8Q~abcdefghijklmnopqrstuvwxyz0123456",
			want: []string{"abc8Q~abcdefghijklmnopqrstuvwxyz0123456"},
		},
		{
			name: "a private key",
			d:    guard.Secrets(),
			text: "x -----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- y",
			want: []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"},
		},
		{
			name: "a JWT",
			d:    guard.Secrets(),
			text: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
			want: []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"},
		},
		{
			name: "no secret in prose",
			d:    guard.Secrets(),
			text: "the sky is blue and ask-me later",
			want: nil,
		},
		{
			name: "a custom expression",
			d:    guard.Regexp("TICKET", regexp.MustCompile(`TCK-\d+`)),
			text: "see TCK-42",
			want: []string{"TCK-42"},
		},
		{
			name: "listed words in any case",
			d:    guard.Words("CODENAME", "Bluebird", "red fox"),
			text: "Project BLUEBIRD and the Red Fox, not bluebirds",
			want: []string{"BLUEBIRD", "Red Fox"},
		},
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
