// Package guard puts guardrails and reversible masking in front of any
// [aiclient.Provider]: a [Guard] is itself a Provider, so it wraps one
// adapter, one candidate of an alias, or a whole [aiclient.Client].
//
// # Rules
//
// A Guard runs its [Rule] values in order on every request. A rule holds a
// [Detector], which finds values in the text of the messages and of the
// tool calls, or a [Check] over the whole request; and an [Action]:
//
//   - [Block] refuses the call with an [aiclient.Error] of kind
//     content_filtered and code [CodeBlocked], whose message names the rule
//     and never the value (the gateway answers it as a 400 in the
//     caller's wire format);
//   - [Mask] replaces each value by a placeholder before the provider sees
//     it (see below);
//   - [Flag] lets the call through and reports a [Finding] to the
//     [OnFinding] hook, for a metric, and to the [Report] of the call's
//     context ([WithReport]), which the gateway copies into its call
//     record. Every rule that matches reports a Finding, whatever its
//     action; a Finding holds the rule, counts and kind, never a value.
//
// Since rules run in order, a rule sees the request as the rules before it
// left it: a Mask before a Block on the same detector lets masked values
// through. A rule's When limits it to some calls (a tenant's, a
// consumer's), and Output moves it to the response.
//
// The built-in detectors are [Email], [Phone], [Card] (Luhn-checked),
// [IBAN] (mod-97-checked), [IP] (v4 and v6), [Secrets] (AWS, Google Cloud
// and Azure keys, OpenAI, Anthropic, GitHub and Slack tokens, PEM private
// keys, JWTs), [Regexp] and [Words]. The checks are [MaxPromptTokens],
// [AllowModels] and [External], a moderation or data-loss-prevention
// service over HTTP with a timeout, failing open or closed as the rule's
// FailOpen says.
//
// # Masking
//
// Masked values become placeholders "<KIND_N>" ("<EMAIL_1>"), the same
// value the same placeholder throughout a call, kept in a per-call
// [Vault] that is dropped when the call ends: nothing of the original is
// stored beyond it. Placeholders are restored in the response the caller
// gets: in the text, the reasoning and the tool-call arguments (escaped
// for JSON there, and recognised when the provider wrote the angle
// brackets as \u003c and \u003e). In a stream, a [Restorer] per text,
// reasoning and tool call restores deltas split at any byte, holding back
// only a tail that may begin a placeholder, and passing it on before the
// next event of another kind.
//
// # Output rules
//
// A rule with Output reads the response instead of the request: its text
// and its tool calls' arguments, after masked values are restored. It
// blocks, masks (a placeholder of the kind, not restored) or flags. In a
// stream it acts as the text arrives: each rule passes text on as soon as
// no value can begin in it and holds back only a tail that may begin one
// ([StreamDetector]; the built-in detectors and [Regexp] and [Words]
// find that tail from the prefixes of their expressions), so a value
// never reaches the caller even in part. A tail is held back for at most
// 4 KiB, longer than any value the built-in detectors find, which also
// bounds the work per chunk. A block ends the stream with the error
// after the text passed on before the value. A detector that is no
// StreamDetector holds the whole text until the stream ends.
//
// A Guard is safe for concurrent use.
package guard
