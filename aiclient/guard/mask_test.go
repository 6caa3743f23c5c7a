package guard_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/aiclient/guard"
)

// vault returns a vault holding two e-mail addresses and a card number.
func vault() (*guard.Vault, string, string) {
	var v guard.Vault
	masked := "Mail " + v.Mask("EMAIL", "jane@example.com") + " and " + v.Mask("EMAIL", "bob@example.org") +
		", card " + v.Mask("CARD", "4111 1111 1111 1111") + "; again " + v.Mask("EMAIL", "jane@example.com") + " <b>x</b> <EMAIL_9> <EMAIL_"
	plain := "Mail jane@example.com and bob@example.org, card 4111 1111 1111 1111; again jane@example.com <b>x</b> <EMAIL_9> <EMAIL_"
	return &v, masked, plain
}

// restoreChunks restores text given to the restorer in pieces ending at cuts.
func restoreChunks(v *guard.Vault, text string, cuts []int) string {
	return restoreChunksIn(v, text, cuts, false)
}

func restoreChunksIn(v *guard.Vault, text string, cuts []int, inJSON bool) string {
	r := v.Restorer(inJSON)
	var b strings.Builder
	last := 0
	for _, c := range cuts {
		b.WriteString(r.Write(text[last:c]))
		last = c
	}
	b.WriteString(r.Write(text[last:]))
	b.WriteString(r.Flush())
	return b.String()
}

func TestTheSameValueGetsTheSamePlaceholder(t *testing.T) {
	t.Parallel()
	var v guard.Vault
	a, b, c := v.Mask("EMAIL", "a@x.io"), v.Mask("EMAIL", "b@x.io"), v.Mask("EMAIL", "a@x.io")
	if got, want := a, "<EMAIL_1>"; got != want {
		t.Errorf("first placeholder = %q, want %q", got, want)
	}
	if got, want := b, "<EMAIL_2>"; got != want {
		t.Errorf("second placeholder = %q, want %q", got, want)
	}
	if got, want := c, a; got != want {
		t.Errorf("repeated value's placeholder = %q, want %q", got, want)
	}
}

func TestRestoringOneByteAtATime(t *testing.T) {
	t.Parallel()
	v, masked, plain := vault()
	cuts := make([]int, 0, len(masked))
	for i := 1; i < len(masked); i++ {
		cuts = append(cuts, i)
	}
	if got := restoreChunks(v, masked, cuts); got != plain {
		t.Errorf("restored %q, want %q", got, plain)
	}
}

func TestRestoringWithEverySplitIntoTwoAndThree(t *testing.T) {
	t.Parallel()
	v, masked, plain := vault()
	for i := 0; i <= len(masked); i++ {
		if got := restoreChunks(v, masked, []int{i}); got != plain {
			t.Fatalf("split at %d: restored %q, want %q", i, got, plain)
		}
		for j := i; j <= len(masked); j++ {
			if got := restoreChunks(v, masked, []int{i, j}); got != plain {
				t.Fatalf("split at %d and %d: restored %q, want %q", i, j, got, plain)
			}
		}
	}
}

func TestRestoringWithRandomSplits(t *testing.T) {
	t.Parallel()
	v, masked, plain := vault()
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var cuts []int
		for i := 1; i < len(masked); i++ {
			if rnd.IntN(4) == 0 {
				cuts = append(cuts, i)
			}
		}
		if got := restoreChunks(v, masked, cuts); got != plain {
			t.Fatalf("cuts %v: restored %q, want %q", cuts, got, plain)
		}
	}
}

func TestRestoringHoldsBackOnlyAPlaceholderPrefix(t *testing.T) {
	t.Parallel()
	v, _, _ := vault()
	r := v.Restorer(false)
	if got, want := r.Write("a <b> and <EM"), "a <b> and "; got != want {
		t.Errorf("Write = %q, want %q", got, want)
	}
	if got, want := r.Write("AIL_2> done"), "bob@example.org done"; got != want {
		t.Errorf("Write = %q, want %q", got, want)
	}
	if got, want := r.Write("<CARD_"), ""; got != want {
		t.Errorf("Write = %q, want %q", got, want)
	}
	if got, want := r.Flush(), "<CARD_"; got != want {
		t.Errorf("Flush = %q, want %q", got, want)
	}
}

func TestRestoringInJSONEscapesTheValue(t *testing.T) {
	t.Parallel()
	var v guard.Vault
	p := v.Mask("NAME", `Jo "JJ" <Doe>`)
	if got, want := v.RestoreJSON(`{"to":"`+p+`"}`), `{"to":"Jo \"JJ\" <Doe>"}`; got != want {
		t.Errorf("RestoreJSON = %s, want %s", got, want)
	}
}

func FuzzRestorer(f *testing.F) {
	f.Add("Mail <EMAIL_1> and <EMAIL_2>, card <CARD_1>", uint64(1))
	f.Add("<<EMAIL_1><EMAIL_<CARD_1>>", uint64(7))
	f.Add(`{"a":"\u003cEMAIL_1\u003e\u003cCARD_1>"}`, uint64(3))
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		v, _, _ := vault()
		want := v.Restore(text)
		rnd := rand.New(rand.NewPCG(seed, seed))
		var cuts []int
		for i := 1; i < len(text); i++ {
			if rnd.IntN(3) == 0 {
				cuts = append(cuts, i)
			}
		}
		if got := restoreChunks(v, text, cuts); got != want {
			t.Errorf("cuts %v: restored %q, whole text restores to %q", cuts, got, want)
		}
		wantJSON := v.RestoreJSON(text)
		if got := restoreChunksIn(v, text, cuts, true); got != wantJSON {
			t.Errorf("cuts %v: restored JSON %q, whole text restores to %q", cuts, got, wantJSON)
		}
	})
}

// FuzzMaskToolArguments checks that masking valid JSON arguments keeps
// them valid JSON, and that restoring them gives back the same value.
func FuzzMaskToolArguments(f *testing.F) {
	f.Add(`{"to":"jane@example.com","cc":["bob@example.org"],"n":1}`)
	f.Add(`{"note":"mail \"x\" a@b.io\n"}`)
	f.Add(`["a@b.io", {"k": "c@d.io"}]`)
	f.Fuzz(func(t *testing.T, args string) {
		if !json.Valid([]byte(args)) {
			return
		}
		g, err := guard.New(&echo{size: 1}, []guard.Rule{{Name: "pii", Action: guard.Mask, Detector: guard.Email()}})
		if err != nil {
			t.Fatal(err)
		}
		req := &aiclient.Request{Model: "m", Messages: []aiclient.Message{{Role: aiclient.RoleAssistant,
			ToolCalls: []aiclient.ToolCall{{ID: "c", Name: "f", Arguments: json.RawMessage(args)}}}}}
		masked, vault, err := g.Inspect(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		out := string(masked.Messages[0].ToolCalls[0].Arguments)
		if !json.Valid([]byte(out)) {
			t.Fatalf("masked %s into invalid JSON %s", args, out)
		}
		var want, got any
		_ = json.Unmarshal([]byte(args), &want)
		if err := json.Unmarshal([]byte(vault.RestoreJSON(out)), &got); err != nil {
			t.Fatalf("restored %s is invalid: %v", vault.RestoreJSON(out), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("restored %v, want %v", got, want)
		}
	})
}
