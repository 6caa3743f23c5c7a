package guard_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
	"github.com/portico-dev/portico/internal/cputime"
)

func benchRules() []guard.Rule {
	return []guard.Rule{
		{Name: "secrets", Action: guard.Block, Detector: guard.Secrets()},
		{Name: "email", Action: guard.Mask, Detector: guard.Email()},
		{Name: "phone", Action: guard.Mask, Detector: guard.Phone()},
		{Name: "card", Action: guard.Mask, Detector: guard.Card()},
		{Name: "iban", Action: guard.Mask, Detector: guard.IBAN()},
		{Name: "ip", Action: guard.Flag, Detector: guard.IP()},
		{Name: "size", Action: guard.Block, Check: guard.MaxPromptTokens(100_000)},
	}
}

// BenchmarkInspect measures the pipeline's added latency per call: seven
// rules over a 2 KB prompt holding an e-mail address and a card number.
func BenchmarkInspect(b *testing.B) {
	g, err := guard.New(&echo{size: 1}, benchRules())
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The quarterly report is due on Friday; please review it. ", 34) + secretText
	req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.System("Be brief."), aiclient.UserText(text)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := g.Inspect(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreChunk measures the added latency per streamed chunk: a
// 4-byte delta through a restorer of a vault holding placeholders.
func BenchmarkRestoreChunk(b *testing.B) {
	v, masked, _ := vault()
	chunks := make([]string, 0, len(masked)/4+1)
	for s := masked; len(s) > 0; {
		n := min(4, len(s))
		chunks = append(chunks, s[:n])
		s = s[n:]
	}
	r := v.Restorer(false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = r.Write(chunks[i%len(chunks)])
		if i++; i%len(chunks) == 0 {
			_ = r.Flush()
		}
	}
}

// BenchmarkStream measures a whole streamed call through the guard, one
// event per byte, against the provider alone.
func BenchmarkStream(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		name := "direct"
		if guarded {
			name = "guarded"
		}
		b.Run(name, func(b *testing.B) {
			var p aiclient.Provider = &echo{size: 1}
			if guarded {
				g, err := guard.New(p, benchRules())
				if err != nil {
					b.Fatal(err)
				}
				p = g
			}
			req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{aiclient.UserText(secretText)}}
			b.ReportAllocs()
			for b.Loop() {
				s, err := p.Stream(b.Context(), req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := aiclient.Collect(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOutputChunk measures the output rules' added cost per
// streamed chunk: a 2 KB answer of prose with an e-mail address, in
// deltas of about 4 bytes (a token), through one rule (secrets, the
// costliest) and through six (secrets, e-mail, phone, card, IBAN, IP),
// against no rule. ns/chunk and cpu-ns/chunk are per chunk.
func BenchmarkOutputChunk(b *testing.B) {
	text := strings.Repeat("The quarterly report is due on Friday; please review it. ", 34) + "Write to jane@example.com."
	var chunks pieces
	for s := text; len(s) > 0; {
		n := min(4, len(s))
		chunks, s = append(chunks, s[:n]), s[n:]
	}
	all := []guard.Rule{
		{
			Name:     "secrets",
			Action:   guard.Block,
			Detector: guard.Secrets(),
			Output:   true,
		},
		{
			Name:     "email",
			Action:   guard.Mask,
			Detector: guard.Email(),
			Output:   true,
		},
		{
			Name:     "phone",
			Action:   guard.Mask,
			Detector: guard.Phone(),
			Output:   true,
		},
		{
			Name:     "card",
			Action:   guard.Mask,
			Detector: guard.Card(),
			Output:   true,
		},
		{
			Name:     "iban",
			Action:   guard.Mask,
			Detector: guard.IBAN(),
			Output:   true,
		},
		{
			Name:     "ip",
			Action:   guard.Flag,
			Detector: guard.IP(),
			Output:   true,
		},
	}
	for _, bc := range []struct {
		name  string
		rules []guard.Rule
	}{{"none", nil}, {"secrets", all[:1]}, {"six", all}} {
		b.Run(bc.name, func(b *testing.B) {
			var p aiclient.Provider = chunks
			if bc.rules != nil {
				g, err := guard.New(chunks, bc.rules)
				if err != nil {
					b.Fatal(err)
				}
				p = g
			}
			req := &aiclient.Request{Model: "m"}
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				s, err := p.Stream(b.Context(), req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := aiclient.Collect(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(chunks)), "ns/chunk")
			// CPU time is steadier than wall time on a busy machine.
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N*len(chunks)), "cpu-ns/chunk")
		})
	}
}
