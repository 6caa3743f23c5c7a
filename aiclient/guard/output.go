package guard

import (
	"context"
	"slices"
	"strings"

	"github.com/portico-dev/portico/aiclient"
)

// output runs a call's output rules over the texts of its response: the
// text, and each tool call's arguments, each through its own [scanner].
// Findings are counted per rule across the texts and reported once, when
// the response ends or a rule blocks it.
type output struct {
	g      *Guard
	ctx    context.Context
	model  string
	rules  []Rule // the output rules that apply to the call
	counts []int
	masks  Vault // the placeholders of output masks, not restored
}

// newOutput returns the output rules of the call of ctx, or nil if none
// applies.
func (g *Guard) newOutput(ctx context.Context, model string) *output {
	var rules []Rule
	for _, r := range g.output {
		if r.When == nil || r.When(ctx) {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil
	}
	return &output{g: g, ctx: ctx, model: model, rules: rules, counts: make([]int, len(rules))}
}

// scanner returns a scanner of one text.
func (o *output) scanner() *scanner {
	sc := &scanner{o: o, stages: make([]stage, len(o.rules))}
	for i, r := range o.rules {
		sc.stages[i] = stage{rule: i}
		if sd, ok := r.Detector.(StreamDetector); ok {
			sc.stages[i].pending = sd.Pending
		}
	}
	return sc
}

// report reports a finding per rule that found something.
func (o *output) report() {
	for i, r := range o.rules {
		if o.counts[i] > 0 {
			o.g.found(o.ctx, Finding{Rule: r.Name, Action: r.Action, Kind: r.Detector.Kind(), Count: o.counts[i], Output: true})
			o.counts[i] = 0
		}
	}
}

// scanner passes one text, arriving in pieces, through the output rules
// in order, each a [stage] holding back what may begin a value.
type scanner struct {
	o      *output
	stages []stage
}

// write adds s and returns the text that can be passed on; end says the
// text is complete. The error is the block of a rule; the findings are
// then reported.
func (sc *scanner) write(s string, end bool) (string, error) {
	for i := range sc.stages {
		var blockedBy int
		s, blockedBy = sc.stages[i].write(sc.o, s, end)
		if blockedBy >= 0 {
			sc.o.report()
			return "", blocked(sc.o.model, sc.o.rules[blockedBy].Name, true)
		}
	}
	return s, nil
}

// contextLen is how much of the text a stage has passed on it keeps, as
// the left context of what follows, for \b. No value begins in the text
// passed on and runs past it (that text would have been held back), so
// the context only needs its last character.
const contextLen = 4

// maxHeld bounds the tail a stage holds back while a value may be
// starting, and with it the work per chunk: a run of text that could
// still be one value (a long word, a blob of base64) goes on once it is
// longer. It is more than the longest values the built-in detectors find
// (a 4 096-bit RSA private key in PEM is about 3.3 KB).
const maxHeld = 4 << 10

// stage is one output rule over one text.
type stage struct {
	rule    int
	pending func(string) int // nil: hold everything until the end
	left    string           // the end of the text passed on
	held    string           // the text held back
}

// write adds s to the held text and returns what can be passed on (with
// the rule's masks) and -1, or the rule's index if it blocks.
//
// A value the detector finds that begins before the pending tail is
// final: more text cannot change it. The text is passed on up to that
// tail, or to the start of a final value that runs into it.
func (st *stage) write(o *output, s string, end bool) (string, int) {
	text := st.left + st.held + s
	off := len(st.left)
	release := len(text)
	if !end {
		release = off
		if st.pending != nil {
			// No value runs longer than maxHeld: an older tail goes on.
			from := max(off, len(text)-maxHeld)
			release = from + st.pending(text[from:])
		}
	}
	r := o.rules[st.rule]
	var out strings.Builder
	last := off
	if release > off {
		// A value the detector finds must begin before release to be
		// final; with nothing to pass on, none can.
		for _, sp := range r.Detector.Find(text) {
			if sp.Start < off {
				continue
			}
			if sp.Start >= release {
				break
			}
			if sp.End > release {
				release = sp.Start
				break
			}
			o.counts[st.rule]++
			switch r.Action {
			case Block:
				return "", st.rule
			case Mask:
				out.WriteString(text[last:sp.Start])
				out.WriteString(o.masks.Mask(r.Detector.Kind(), text[sp.Start:sp.End]))
				last = sp.End
			}
		}
	}
	passedOn := text[last:release]
	if last > off {
		out.WriteString(passedOn)
		passedOn = out.String()
	}
	passed := text[:release]
	st.left = passed[max(0, len(passed)-contextLen):]
	st.held = text[release:]
	return passedOn, -1
}

// message runs the output rules over a whole response's text parts and
// tool-call arguments, masking in place.
func (o *output) message(resp *aiclient.Response) error {
	m := &resp.Message
	for i := range m.Parts {
		p := &m.Parts[i]
		if p.Type != aiclient.PartText {
			continue
		}
		text, err := o.scanner().write(p.Text, true)
		if err != nil {
			return err
		}
		p.Text = text
	}
	for i := range m.ToolCalls {
		args, err := o.scanner().write(string(m.ToolCalls[i].Arguments), true)
		if err != nil {
			return err
		}
		m.ToolCalls[i].Arguments = []byte(args)
	}
	if slices.ContainsFunc(o.counts, func(n int) bool { return n > 0 }) {
		// Log probabilities would show the values found.
		resp.Logprobs = nil
	}
	o.report()
	return nil
}
