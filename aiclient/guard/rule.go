package guard

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/portico-dev/portico/aiclient"
)

// Action is what a [Rule] does when it finds something.
type Action string

// The actions.
const (
	// Block refuses the call with an error naming the rule.
	Block Action = "block"
	// Mask replaces each value found by a placeholder before the provider
	// sees it, and restores it in the response (see [Vault]).
	Mask Action = "mask"
	// Flag lets the call through and reports a [Finding].
	Flag Action = "flag"
)

// Check inspects a whole request rather than its text: it returns a
// non-empty reason when the request violates it, or an error when it
// could not decide (an external service down).
type Check interface {
	Check(ctx context.Context, req *aiclient.Request) (reason string, err error)
}

// CheckFunc adapts a function to [Check].
type CheckFunc func(ctx context.Context, req *aiclient.Request) (string, error)

// Check calls f.
func (f CheckFunc) Check(ctx context.Context, req *aiclient.Request) (string, error) {
	return f(ctx, req)
}

// Rule is one step of a [Guard]'s pipeline: a [Detector] over the text of
// messages and tool calls, or a [Check] over the whole request.
type Rule struct {
	// Name identifies the rule in errors and findings.
	Name string
	// Action is what the rule does when it matches.
	Action Action
	// Detector finds values in the text. Exactly one of Detector and
	// Check is set.
	Detector Detector
	// Check inspects the request. Its rule's action is Block or Flag.
	Check Check
	// When, if set, limits the rule to the calls whose context it
	// accepts: a tenant's or a consumer's calls, for instance. By
	// default, the rule applies to every call.
	When func(context.Context) bool
	// FailOpen, for a Check that fails with an error, lets the call
	// through (and reports a finding); by default the call is blocked.
	FailOpen bool
	// Output runs the Detector over the response the provider returns
	// (after masked values are restored) instead of the request: its
	// text and its tool calls' arguments. Block refuses the response;
	// Mask replaces each value by a placeholder of its kind ("<SECRET_1>"),
	// which is not restored; Flag reports it. In a stream, the rule acts
	// as the text arrives: text is passed on as soon as no value can
	// begin in it, and only a tail that may begin one (see
	// [StreamDetector]) is held back, so a value never reaches the caller
	// even in part. A block ends the stream with the error in
	// [aiclient.Stream.Err] after the text passed on before the value.
	Output bool
}

func (r Rule) validate(i int) error {
	at := fmt.Sprintf("rules[%d]", i)
	if r.Name == "" {
		return fmt.Errorf("%s.name: a rule needs a name", at)
	}
	if !slices.Contains([]Action{Block, Mask, Flag}, r.Action) {
		return fmt.Errorf("%s.action: %q is not block, mask or flag", at, r.Action)
	}
	if (r.Detector == nil) == (r.Check == nil) {
		return fmt.Errorf("%s: rule %q needs exactly one of a detector and a check", at, r.Name)
	}
	if r.Check != nil && r.Action == Mask {
		return fmt.Errorf("%s.action: rule %q checks the whole request and cannot mask; use block or flag", at, r.Name)
	}
	if r.Output && r.Check != nil {
		return fmt.Errorf("%s.output: rule %q checks the request; an output rule needs a detector", at, r.Name)
	}
	return nil
}

// Finding is what a rule found in one call.
type Finding struct {
	// Rule is the rule's name.
	Rule string
	// Action is the rule's action.
	Action Action
	// Kind is the detector's kind, or "CHECK" for a check.
	Kind string
	// Count is how many values the detector found.
	Count int
	// Output reports a finding in the response rather than the request.
	Output bool
	// Reason is a check's reason, or the error of a check that failed open.
	Reason string
}

// CodeBlocked is the [aiclient.Error] code of a call a rule blocked.
const CodeBlocked = "guardrail_blocked"

// BlockedError is the cause of the [aiclient.Error] a blocked call
// returns, read with errors.As.
type BlockedError struct {
	// Rule is the name of the rule that blocked the call.
	Rule string
	// Output reports a block on the response rather than the request.
	Output bool
}

// Error returns `guard: blocked by rule "<name>"`.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("portico/guard: blocked by rule %q", e.Rule)
}

// blocked returns the aiclient error of a call rule blocked. Its message
// names the rule and never the value found.
func blocked(model, rule string, output bool) error {
	msg := fmt.Sprintf("The request was blocked by the guardrail %q.", rule)
	if output {
		msg = fmt.Sprintf("The response was blocked by the guardrail %q.", rule)
	}
	return &aiclient.Error{
		Provider: "guard", Model: model, Status: 400, Kind: aiclient.KindContentFiltered,
		Code: CodeBlocked, Message: msg, Err: &BlockedError{Rule: rule, Output: output},
	}
}

// IsBlocked reports whether err comes from a rule that blocked the call,
// and names it.
func IsBlocked(err error) (rule string, ok bool) {
	var b *BlockedError
	if errors.As(err, &b) {
		return b.Rule, true
	}
	return "", false
}
