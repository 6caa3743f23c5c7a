package aitest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The credentials a [Bedrock] server accepts: requests signed with
// Signature Version 4 for the "bedrock" service (in any region) with this
// key pair, or carrying BedrockAPIKey as a bearer token. Anything else is
// refused with 403, as Bedrock does.
const (
	AWSAccessKeyID     = "AKIDAITESTEXAMPLE"
	AWSSecretAccessKey = "aitest/Secret+Access/KeyEXAMPLE"
	BedrockAPIKey      = "ABSKaitestEXAMPLEapikey"
)

// EventStreamMessage is one message of an AWS event stream
// (application/vnd.amazon.eventstream): string headers and a payload.
type EventStreamMessage struct {
	Headers map[string]string `json:"headers"`
	Payload json.RawMessage   `json:"payload"`
}

// EncodeEventStream returns msgs in the event-stream binary framing: for
// each, the prelude (total and header lengths and their CRC-32), the
// headers in name order, the payload and the message's CRC-32.
func EncodeEventStream(msgs ...EventStreamMessage) []byte {
	var out []byte
	for _, m := range msgs {
		var h bytes.Buffer
		for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
			v := m.Headers[k]
			h.WriteByte(byte(len(k)))
			h.WriteString(k)
			h.WriteByte(7) // string
			h.Write(binary.BigEndian.AppendUint16(nil, uint16(len(v))))
			h.WriteString(v)
		}
		total := 12 + h.Len() + len(m.Payload) + 4
		b := make([]byte, 0, total)
		b = binary.BigEndian.AppendUint32(b, uint32(total))
		b = binary.BigEndian.AppendUint32(b, uint32(h.Len()))
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
		b = append(b, h.Bytes()...)
		b = append(b, m.Payload...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
		out = append(out, b...)
	}
	return out
}

func (x *exchange) bedrockError(status int, code, msg string) {
	if code == "" {
		switch status {
		case http.StatusBadRequest:
			code = "ValidationException"
		case http.StatusForbidden:
			code = "AccessDeniedException"
		case http.StatusNotFound:
			code = "ResourceNotFoundException"
		case http.StatusRequestTimeout:
			code = "ModelTimeoutException"
		case http.StatusFailedDependency:
			code = "ModelErrorException"
		case http.StatusTooManyRequests:
			code = "ThrottlingException"
		case http.StatusServiceUnavailable:
			code = "ServiceUnavailableException"
		default:
			code = "InternalServerException"
		}
	}
	x.w.Header().Set("x-amzn-RequestId", x.id())
	x.w.Header().Set("x-amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	x.writeJSON(status, map[string]any{"message": msg})
}

func (x *exchange) bedrock() {
	if code, msg := x.bedrockAuth(); code != "" {
		x.bedrockError(http.StatusForbidden, code, msg)
		return
	}
	rest, ok := strings.CutPrefix(x.r.URL.Path, "/model/")
	i := strings.LastIndex(rest, "/")
	if !ok || i < 0 {
		x.bedrockError(http.StatusNotFound, "UnknownOperationException", "aitest: no Bedrock operation at "+x.r.URL.Path)
		return
	}
	model, op := rest[:i], rest[i+1:]
	switch op {
	case "converse", "converse-stream":
		if !x.take(x.bedrockError) {
			return
		}
		x.w.Header().Set("x-amzn-RequestId", x.id())
		if op == "converse-stream" {
			x.bedrockStream()
			return
		}
		x.bedrockWhole(model)
	default:
		x.bedrockError(http.StatusNotFound, "UnknownOperationException", "aitest: no Bedrock operation "+op)
	}
}

func (x *exchange) bedrockStop() string {
	if x.reply.FinishReason != "" {
		return x.reply.FinishReason
	}
	if len(x.reply.ToolCalls) > 0 {
		return "tool_use"
	}
	return "end_turn"
}

func (x *exchange) bedrockUsage() map[string]any {
	u := x.reply.Usage
	in := u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens
	m := map[string]any{"inputTokens": in, "outputTokens": u.OutputTokens, "totalTokens": u.InputTokens + u.OutputTokens}
	if u.CacheReadTokens > 0 || u.CacheWriteTokens > 0 {
		m["cacheReadInputTokens"], m["cacheWriteInputTokens"] = u.CacheReadTokens, u.CacheWriteTokens
	}
	return m
}

func (x *exchange) bedrockToolID(i int, tc ToolCall) string {
	if tc.ID != "" {
		return tc.ID
	}
	return "tooluse_" + x.callID(i, tc)
}

func (x *exchange) bedrockWhole(string) {
	var content []any
	if x.reply.Reasoning != "" {
		content = append(content, map[string]any{"reasoningContent": map[string]any{
			"reasoningText": map[string]any{"text": x.reply.Reasoning, "signature": x.reply.Signature}}})
	}
	if x.reply.Text != "" {
		content = append(content, map[string]any{"text": x.reply.Text})
	}
	for i, tc := range x.reply.ToolCalls {
		content = append(content, map[string]any{"toolUse": map[string]any{"toolUseId": x.bedrockToolID(i, tc), "name": tc.Name, "input": argsObject(tc)}})
	}
	x.writeJSON(http.StatusOK, map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": x.bedrockStop(), "usage": x.bedrockUsage(), "metrics": map[string]any{"latencyMs": 42},
	})
}

// bedrockStream writes the reply as ConverseStream does: messageStart,
// one block per reasoning, text and tool call (deltas between a start for
// tool use and a stop), messageStop, then metadata with the usage. Every
// payload carries Bedrock's "p" padding.
func (x *exchange) bedrockStream() {
	x.begin("application/vnd.amazon.eventstream")
	ev := func(typ string, v map[string]any) bool {
		if x.fault() {
			msg := EventStreamMessage{Headers: map[string]string{":message-type": "exception", ":exception-type": "modelStreamErrorException",
				":content-type": "application/json"}, Payload: marshal(map[string]any{"message": x.errorMessage(), "originalStatusCode": 500})}
			writeSplit(x.w, EncodeEventStream(msg), x.s.split)
			return false
		}
		v["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"[:len(typ)]
		msg := EventStreamMessage{Headers: map[string]string{":message-type": "event", ":event-type": typ, ":content-type": "application/json"}, Payload: marshal(v)}
		writeSplit(x.w, EncodeEventStream(msg), x.s.split)
		x.events++
		return true
	}
	if !ev("messageStart", map[string]any{"role": "assistant"}) {
		return
	}
	index := 0
	block := func(start map[string]any, deltas []map[string]any) bool {
		if start != nil && !ev("contentBlockStart", map[string]any{"contentBlockIndex": index, "start": start}) {
			return false
		}
		for _, d := range deltas {
			if !ev("contentBlockDelta", map[string]any{"contentBlockIndex": index, "delta": d}) {
				return false
			}
		}
		ok := ev("contentBlockStop", map[string]any{"contentBlockIndex": index})
		index++
		return ok
	}
	if x.reply.Reasoning != "" {
		var ds []map[string]any
		for _, c := range chunks(x.reply.Reasoning, x.reply.ChunkSize) {
			ds = append(ds, map[string]any{"reasoningContent": map[string]any{"text": c}})
		}
		if x.reply.Signature != "" {
			ds = append(ds, map[string]any{"reasoningContent": map[string]any{"signature": x.reply.Signature}})
		}
		if !block(nil, ds) {
			return
		}
	}
	if x.reply.Text != "" {
		var ds []map[string]any
		for _, c := range chunks(x.reply.Text, x.reply.ChunkSize) {
			ds = append(ds, map[string]any{"text": c})
		}
		if !block(nil, ds) {
			return
		}
	}
	for i, tc := range x.reply.ToolCalls {
		var ds []map[string]any
		for _, c := range chunks(string(marshal(argsObject(tc))), x.reply.ChunkSize) {
			ds = append(ds, map[string]any{"toolUse": map[string]any{"input": c}})
		}
		if !block(map[string]any{"toolUse": map[string]any{"toolUseId": x.bedrockToolID(i, tc), "name": tc.Name}}, ds) {
			return
		}
	}
	if !ev("messageStop", map[string]any{"stopReason": x.bedrockStop()}) {
		return
	}
	ev("metadata", map[string]any{"usage": x.bedrockUsage(), "metrics": map[string]any{"latencyMs": 42}})
}
