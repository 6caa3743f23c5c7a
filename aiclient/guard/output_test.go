package guard_test

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
)

// pieces streams its text in the given pieces, then a finish.
type pieces []string

func (p pieces) Name() string { return "pieces" }

func (p pieces) Chat(context.Context, *aiclient.Request) (*aiclient.Response, error) {
	return &aiclient.Response{Model: "m", FinishReason: aiclient.FinishStop, Message: aiclient.Message{
		Role: aiclient.RoleAssistant, Parts: []aiclient.Part{aiclient.Text(strings.Join(p, ""))}}}, nil
}

func (p pieces) Stream(context.Context, *aiclient.Request) (*aiclient.Stream, error) {
	i := 0
	return aiclient.NewStream(func() (aiclient.Event, error) {
		switch {
		case i < len(p):
			i++
			return aiclient.Event{Type: aiclient.EventText, Text: p[i-1]}, nil
		case i == len(p):
			i++
			return aiclient.Event{Type: aiclient.EventFinish, FinishReason: aiclient.FinishStop}, nil
		}
		return aiclient.Event{}, io.EOF
	}, nil), nil
}

// streamed returns the text deltas a guard over p passes on, in order,
// and the stream's error.
func streamed(t *testing.T, rules []guard.Rule, p pieces) ([]string, error) {
	t.Helper()
	g, err := guard.New(p, rules)
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.Stream(t.Context(), &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []string
	for s.Next() {
		if ev := s.Current(); ev.Type == aiclient.EventText {
			out = append(out, ev.Text)
		}
	}
	return out, s.Err()
}

// splits returns text whole, cut at every byte, and in one-byte pieces.
func splits(text string) []pieces {
	out := []pieces{{text}}
	for i := 1; i < len(text); i++ {
		out = append(out, pieces{text[:i], text[i:]})
	}
	var bytewise pieces
	for i := range len(text) {
		bytewise = append(bytewise, text[i:i+1])
	}
	return append(out, bytewise)
}

const leaky = "Your key is AKIAIOSFODNN7EXAMPLE, keep it safe."

func TestAnOutputBlockStopsAStreamBeforeAnyOfTheValueWhateverTheSplit(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{{
		Name:     "no-keys-out",
		Action:   guard.Block,
		Detector: guard.Secrets(),
		Output:   true,
	}}
	for _, p := range splits(leaky) {
		got, err := streamed(t, rules, p)
		if rule, ok := guard.IsBlocked(err); !ok {
			t.Errorf("%q: err = %v, want a block by no-keys-out", p, err)
		} else if got, want := rule, "no-keys-out"; got != want {
			t.Errorf("%q: blocked by %q, want %q", p, got, want)
		}
		if text := strings.Join(got, ""); !strings.HasPrefix("Your key is ", text) {
			t.Errorf("%q: passed on %q, want a part of the text before the key", p, text)
		}
	}
}

func TestAnOutputMaskReplacesTheValueWhateverTheSplit(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{
		{
			Name:     "keys",
			Action:   guard.Mask,
			Detector: guard.Secrets(),
			Output:   true,
		},
		{
			Name:     "mails",
			Action:   guard.Mask,
			Detector: guard.Email(),
			Output:   true,
		},
	}
	maskedWhateverTheSplit(t, rules, leaky+" Mail jane@example.com", "Your key is <SECRET_1>, keep it safe. Mail <EMAIL_1>")
}

// maskedWhateverTheSplit checks that rules stream text as want, however
// it is split.
func maskedWhateverTheSplit(t *testing.T, rules []guard.Rule, text, want string) {
	t.Helper()
	for _, p := range splits(text) {
		got, err := streamed(t, rules, p)
		if err != nil {
			t.Errorf("%q: err = %v", p, err)
		}
		if got := strings.Join(got, ""); got != want {
			t.Errorf("%q: streamed %q, want %q", p, got, want)
		}
	}
}

func TestAnOutputRulePassesTextOnOnceNoValueCanBeginInIt(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{{
		Name:     "keys",
		Action:   guard.Block,
		Detector: guard.Secrets(),
		Output:   true,
	}}
	got, err := streamed(t, rules, pieces{"The answer ", "is 42. ", "Bye"})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing in these pieces can begin a secret, so each goes on as it
	// arrives.
	if got, want := strings.Join(got, "|"), "The answer |is 42. |Bye"; got != want {
		t.Errorf("deltas %q, want %q", got, want)
	}
	got, err = streamed(t, rules, pieces{"use sk", "-", "ant-", "not a key"})
	if err != nil {
		t.Fatal(err)
	}
	// "sk-ant-" may begin an Anthropic key: it is held back until the
	// text shows it is not one; "key" may begin an Azure client secret
	// until the text ends.
	if got, want := strings.Join(got, "|"), "use |sk-ant-not a |key"; got != want {
		t.Errorf("deltas %q, want %q", got, want)
	}
}

func TestAnOutputFlagReportsAndPassesTheTextOn(t *testing.T) {
	t.Parallel()
	var found []guard.Finding
	g, err := guard.New(pieces{"write to ja", "ne@example.com"}, []guard.Rule{{
		Name:     "mails",
		Action:   guard.Flag,
		Detector: guard.Email(),
		Output:   true,
	}},
		guard.OnFinding(func(_ context.Context, f guard.Finding) { found = append(found, f) }))
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.Stream(t.Context(), &aiclient.Request{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := aiclient.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "write to jane@example.com"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, want := len(found), 1; got != want {
		t.Fatalf("findings = %d, want %d", got, want)
	}
	if got, want := found[0], (guard.Finding{
		Rule:   "mails",
		Action: guard.Flag,
		Kind:   "EMAIL",
		Count:  1,
		Output: true,
	}); got != want {
		t.Errorf("finding = %+v, want %+v", got, want)
	}
}

// opaque is a detector that is no StreamDetector.
type opaque struct{ guard.Detector }

func TestADetectorThatCannotStreamHoldsTheTextToItsEnd(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{{
		Name:     "words",
		Action:   guard.Mask,
		Detector: opaque{guard.Words("CODE", "bluebird")},
		Output:   true,
	}}
	got, err := streamed(t, rules, pieces{"project ", "blue", "bird ", "ships"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(got, "|"), "project <CODE_1> ships"; got != want {
		t.Errorf("deltas %q, want %q", got, want)
	}
}

func TestCustomExpressionsAndWordsStreamToo(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{
		{
			Name:     "tickets",
			Action:   guard.Mask,
			Detector: guard.Regexp("TICKET", regexp.MustCompile(`TCK-\d{4}`)),
			Output:   true,
		},
		{
			Name:     "codenames",
			Action:   guard.Mask,
			Detector: guard.Words("CODE", "blue bird"),
			Output:   true,
		},
	}
	maskedWhateverTheSplit(t, rules, "See TCK-1234 about Blue Bird today.", "See <TICKET_1> about <CODE_1> today.")
}

func TestAnOutputMaskAppliesToAWholeResponse(t *testing.T) {
	t.Parallel()
	g, err := guard.New(pieces{leaky}, []guard.Rule{{
		Name:     "keys",
		Action:   guard.Mask,
		Detector: guard.Secrets(),
		Output:   true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := g.Chat(t.Context(), &aiclient.Request{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Message.Text(), "Your key is <SECRET_1>, keep it safe."; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	var b *guard.BlockedError
	g = newGuard(t, pieces{leaky}, []guard.Rule{{
		Name:     "keys",
		Action:   guard.Block,
		Detector: guard.Secrets(),
		Output:   true,
	}})
	if _, err := g.Chat(t.Context(), &aiclient.Request{Model: "m"}); !errors.As(err, &b) {
		t.Errorf("err = %v, want a block", err)
	}
}

// FuzzAStreamIsMaskedAsTheWholeText checks that the output rules pass on
// a stream, however it is split, as they mask the whole text.
func FuzzAStreamIsMaskedAsTheWholeText(f *testing.F) {
	f.Add(leaky+" jane@example.com 4111 1111 1111 1111 10.0.0.1", uint64(7))
	f.Add("call +1 (555) 123-4567 or DE89 3704 0044 0532 0130 00", uint64(3))
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- done", uint64(11))
	rules := []guard.Rule{
		{
			Name:     "secrets",
			Action:   guard.Mask,
			Detector: guard.Secrets(),
			Output:   true,
		},
		{
			Name:     "mails",
			Action:   guard.Mask,
			Detector: guard.Email(),
			Output:   true,
		},
		{
			Name:     "cards",
			Action:   guard.Mask,
			Detector: guard.Card(),
			Output:   true,
		},
		{
			Name:     "phones",
			Action:   guard.Mask,
			Detector: guard.Phone(),
			Output:   true,
		},
		{
			Name:     "ibans",
			Action:   guard.Mask,
			Detector: guard.IBAN(),
			Output:   true,
		},
		{
			Name:     "ips",
			Action:   guard.Mask,
			Detector: guard.IP(),
			Output:   true,
		},
	}
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		whole, err := newGuard(t, pieces{text}, rules).Chat(t.Context(), &aiclient.Request{Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		var p pieces
		for rest := text; rest != ""; {
			seed = seed*6364136223846793005 + 1442695040888963407
			n := min(len(rest), int(seed>>59)+1)
			p, rest = append(p, rest[:n]), rest[n:]
		}
		got, err := streamed(t, rules, p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(got, ""), whole.Message.Text(); got != want {
			t.Errorf("streamed %q, want %q as the whole text", got, want)
		}
	})
}

func TestAnOutputMaskCoversStreamedToolCallArgumentsWhateverTheChunkSize(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{{
		Name:     "mails",
		Action:   guard.Mask,
		Detector: guard.Email(),
		Output:   true,
	}}
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText("jane@example.com")}}
	for size := 1; size <= 30; size++ {
		s, err := newGuard(t, &echo{size: size}, rules).Stream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := aiclient.Collect(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.Message.Text(), "You said: <EMAIL_1>"; got != want {
			t.Errorf("chunks of %d: text = %q, want %q", size, got, want)
		}
		if got, want := string(resp.Message.ToolCalls[0].Arguments), `{"text":"<EMAIL_1>"}`; got != want {
			t.Errorf("chunks of %d: arguments = %s, want %s", size, got, want)
		}
	}
}

func TestALongRunThatCouldBeAValueIsHeldBackOnlySoLong(t *testing.T) {
	t.Parallel()
	rules := []guard.Rule{{
		Name:     "mails",
		Action:   guard.Mask,
		Detector: guard.Email(),
		Output:   true,
	}}
	// 16 KiB of letters could be the start of one e-mail address; the
	// text still goes on while it streams, not only at its end.
	text := strings.Repeat("abcdefgh", 2<<10)
	var p pieces
	for i := 0; i < len(text); i += 64 {
		p = append(p, text[i:i+64])
	}
	got, err := streamed(t, rules, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(got, ""), text; got != want {
		t.Errorf("streamed %d bytes, want the %d of the text", len(got), len(want))
	}
	if n := len(got); n < len(p)/2 {
		t.Errorf("the text went on in %d deltas for %d pieces, want it passed on as it streamed", n, len(p))
	}
}
