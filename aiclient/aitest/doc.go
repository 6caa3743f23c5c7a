// Package aitest runs fake LLM providers for tests: a [Server] on a
// loopback port that speaks one wire format ([OpenAI], [Anthropic],
// [Gemini], [Ollama], [Bedrock] or [Vertex]) and answers with scripted
// [Reply] values.
//
// A Reply describes an answer once (text, reasoning, tool calls, usage,
// finish reason) and the server renders it in its format, as a whole
// response or as a stream, whichever the request asks for, so the same
// script tests both paths of an adapter. Faults are scripted too: an
// error status with retry hints ([Status]), a stream cut mid-way
// ([Cut]), or an error event after HTTP 200 ([ErrorEvent]). [Splitter]
// values such as [Bytewise], [SplitCRLF] and [SplitRunes] deliver
// responses in hostile chunkings, and [Replay] serves a recorded body the
// same way.
//
//	srv := aitest.NewServer(aitest.Anthropic)
//	defer srv.Close()
//	srv.Push(aitest.Status(529, time.Second), aitest.Text("Hello!", 10, 3))
//	p := anthropic.New(anthropic.WithBaseURL(srv.URL()))
//
// The cloud formats check credentials as their providers do: a [Bedrock]
// server verifies each request's Signature Version 4 against
// [AWSAccessKeyID] and [AWSSecretAccessKey] (or takes [BedrockAPIKey] as
// a bearer token) and answers in AWS's event-stream framing
// ([EncodeEventStream]); a [Vertex] server runs Google's OAuth 2.0 token
// endpoint for the key file of [Server.ServiceAccount] and takes only the
// access tokens it issued.
//
// Every request is recorded for assertions ([Server.Requests]).
//
// # Concurrency
//
// A Server is safe for concurrent use.
package aitest
