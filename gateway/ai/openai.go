package ai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/sse"
)

// chat serves POST /v1/chat/completions.
func (h *Handler) chat(w http.ResponseWriter, r *http.Request) {
	var cr chatRequest
	c, req := h.open(w, r, "chat", &cr, (*apiError).writeOpenAI)
	if c == nil {
		return
	}
	if cr.Stream {
		h.chatStream(w, c, req, cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage)
		return
	}
	resp, err := h.client.Chat(c.ctx, req)
	if err != nil {
		e := fromCall(err)
		e.writeOpenAI(w)
		c.end(e.status, e, nil)
		return
	}
	c.markCache(w)
	writeBody(w, http.StatusOK, completion(resp, req, cr.Model, c.start.Unix()))
	c.end(http.StatusOK, nil, resp)
}

// chatStream streams a chat call as OpenAI's chunks.
func (h *Handler) chatStream(w http.ResponseWriter, c *call, req *aiclient.Request, includeUsage bool) {
	s, enc := h.startStream(w, c, req, func(e *apiError) { e.writeOpenAI(w) })
	if s == nil {
		return
	}
	defer func() { _ = s.Close() }()
	cw := chunkWriter{enc: enc, created: c.start.Unix(), model: req.Model, id: "chatcmpl-portico",
		includeUsage: includeUsage, logprobs: req.Logprobs}
	var acc aiclient.Accumulator
	started := false
	var streamErr error
	for s.Next() {
		ev := s.Current()
		acc.Add(ev)
		switch ev.Type {
		case aiclient.EventStart:
			cw.id, cw.model = completionID(ev.ID), modelName(ev.Model, req.Model)
			cw.created, cw.native = createdOf(ev.Created, cw.created), ev.Native
			if !started {
				started = true
				streamErr = cw.write(&respMessage{Role: "assistant", Content: new(string)}, nil)
			}
		case aiclient.EventText:
			if c.rec.TimeToFirstToken == 0 {
				c.rec.TimeToFirstToken = h.cfg.clock().Sub(c.start)
			}
			streamErr = cw.writeText(ev.Text, ev.Logprobs)
		case aiclient.EventToolCall:
			if c.rec.TimeToFirstToken == 0 {
				c.rec.TimeToFirstToken = h.cfg.clock().Sub(c.start)
			}
			idx := ev.ToolCall.Index
			tc := chatToolCall{Index: &idx, ID: ev.ToolCall.ID}
			if ev.ToolCall.ID != "" || ev.ToolCall.Name != "" {
				tc.Type = "function"
			}
			tc.Function.Name = ev.ToolCall.Name
			tc.Function.Arguments = ev.ToolCall.Arguments
			streamErr = cw.write(&respMessage{ToolCalls: []chatToolCall{tc}}, nil)
		case aiclient.EventFinish:
			f := finishOpenAI(ev.FinishReason)
			streamErr = cw.write(&respMessage{}, &f)
		}
		if streamErr != nil {
			break
		}
	}
	resp := acc.Response()
	if streamErr != nil {
		// The client went away: nothing more can be written.
		c.end(http.StatusOK, &apiError{kind: "canceled", code: "canceled"}, resp)
		return
	}
	if err := s.Err(); err != nil {
		e := fromCall(err)
		_ = enc.Encode(sse.Event{Data: mustJSON(e.openAI())})
		c.end(http.StatusOK, e, resp)
		return
	}
	// The handler returns next, and net/http sends what is left with the
	// end of the response, in one write: the last events need no flush of
	// their own.
	enc.Hold = holdAll
	if includeUsage {
		// Usage once, in a last chunk without choices, as OpenAI sends it.
		_ = cw.encode(&chatCompletion{ID: cw.id, Object: "chat.completion.chunk",
			Created: cw.created, Model: cw.model, Choices: []chatChoice{}, Usage: openAIUsage(resp.Usage)})
	}
	_ = enc.Encode(sse.Event{Data: []byte("[DONE]")})
	c.end(http.StatusOK, nil, resp)
}

// holdAll is an [sse.Encoder] Hold that leaves every flush to the end of
// the response.
func holdAll() bool { return true }

// chunkWriter writes chat.completion.chunk events.
type chunkWriter struct {
	enc     *sse.Encoder
	id      string
	model   string
	created int64
	// native holds the provider's members of its first chunk that no
	// field models (system_fingerprint, service_tier...), written into
	// every chunk when the provider speaks OpenAI's format.
	native *aiclient.Native
	// includeUsage writes "usage": null in every chunk, as OpenAI does
	// when asked for usage, which comes once, in the last chunk.
	includeUsage bool
	// logprobs writes each text chunk's log probabilities.
	logprobs bool
	choice   [1]chatChoice
	chunk    chatCompletion
	// buf holds the chunk being written; the encoder copies it.
	buf []byte
	// members are native's, prepared once per stream.
	members nativeMembers
	// text and delta are the text chunk being written, kept here so that
	// a chunk allocates nothing.
	text  string
	delta respMessage
}

// writeText writes a chunk of text.
func (cw *chunkWriter) writeText(text string, lps []aiclient.Logprob) error {
	cw.text = text
	cw.delta = respMessage{Content: &cw.text}
	return cw.write(&cw.delta, nil, lps...)
}

func (cw *chunkWriter) write(delta *respMessage, finish *string, lps ...aiclient.Logprob) error {
	cw.choice[0] = chatChoice{Delta: delta, FinishReason: finish}
	if cw.logprobs && delta.Content != nil && *delta.Content != "" || len(lps) > 0 {
		cw.choice[0].Logprobs = logprobsOf(cw.logprobs, lps)
	}
	cw.chunk = chatCompletion{ID: cw.id, Object: "chat.completion.chunk", Created: cw.created, Model: cw.model, Choices: cw.choice[:]}
	if cw.includeUsage {
		cw.chunk.Usage = (*chatUsage)(nil)
	}
	return cw.encode(&cw.chunk)
}

// encode writes c, with the provider's members when it speaks OpenAI's
// format.
func (cw *chunkWriter) encode(c *chatCompletion) error {
	cw.buf = cw.members.encode(cw.buf[:0], c, cw.native)
	return cw.enc.Encode(sse.Event{Data: cw.buf})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"error":{"message":"encoding failed","type":"server_error","param":null,"code":null}}`)
	}
	return b
}

// embedRequest is OpenAI's embeddings request.
type embedRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     int             `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
	User           string          `json:"user"`
	// rest are the members no field models: see native.go.
	rest map[string]json.RawMessage
}

func (er *embedRequest) keep(body []byte) {
	er.rest = aiclient.Unknown(body, jsonKeys(er)...)
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

type embedList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

// embeddings serves POST /v1/embeddings.
func (h *Handler) embeddings(w http.ResponseWriter, r *http.Request) {
	c, e := h.begin(r, "embeddings")
	if e != nil {
		e.writeOpenAI(w)
		c.end(e.status, e, nil)
		return
	}
	var er embedRequest
	if e := h.readJSON(w, r, &er); e != nil {
		e.writeOpenAI(w)
		c.end(e.status, e, nil)
		return
	}
	inputs, err := stringOrList(er.Input)
	switch {
	case err != nil:
		e = invalid("input", "input must be a string or an array of strings; token arrays are not supported.")
	case len(inputs) == 0:
		e = invalid("input", "input must not be empty.")
	case er.EncodingFormat != "" && er.EncodingFormat != "float" && er.EncodingFormat != "base64":
		e = invalid("encoding_format", "encoding_format must be float or base64.")
	case er.Dimensions < 0:
		e = invalid("dimensions", "dimensions must be positive.")
	}
	if e == nil {
		var est int64
		for _, in := range inputs {
			est += int64(len(in)+3) / 4
		}
		e = c.admit(er.Model, est, 0)
	}
	if e != nil {
		e.writeOpenAI(w)
		c.end(e.status, e, nil)
		return
	}
	resp, err := h.client.Embed(c.ctx, &aiclient.EmbedRequest{Model: er.Model, Input: inputs, Dimensions: er.Dimensions, User: er.User,
		Native: nativeOf(aiclient.WireOpenAI, er.rest)})
	if err != nil {
		e := fromCall(err)
		e.writeOpenAI(w)
		c.end(e.status, e, nil)
		return
	}
	out := embedList{Object: "list", Model: modelName(resp.Model, er.Model), Data: make([]embedding, len(resp.Embeddings))}
	for i, v := range resp.Embeddings {
		out.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if er.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(f))
			}
			out.Data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	out.Usage.PromptTokens = resp.Usage.InputTokens
	out.Usage.TotalTokens = resp.Usage.TotalTokens()
	writeJSON(w, http.StatusOK, &out)
	c.end(http.StatusOK, nil, &aiclient.Response{Model: resp.Model, Usage: resp.Usage})
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// visibleModels lists the aliases the caller may use.
func (h *Handler) visibleModels(c *call) ([]string, *apiError) {
	all := h.models
	if len(all) == 0 {
		ms, err := h.client.Models(c.ctx)
		if err != nil && len(ms) == 0 {
			return nil, fromCall(err)
		}
		for _, m := range ms {
			if m.Provider == "aiclient" {
				all = append(all, m.ID)
			}
		}
	}
	out := make([]string, 0, len(all))
	for _, id := range all {
		if allows(c.models, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// listModels serves GET /v1/models: the aliases the caller may use.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	c, e := h.begin(r, "models")
	if e != nil {
		e.writeOpenAI(w)
		return
	}
	ids, e := h.visibleModels(c)
	if e != nil {
		e.writeOpenAI(w)
		return
	}
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: make([]modelObject, 0, len(ids))}
	for _, id := range ids {
		list.Data = append(list.Data, modelObject{ID: id, Object: "model", OwnedBy: "portico", Created: created})
	}
	writeJSON(w, http.StatusOK, &list)
}

// getModel serves GET /v1/models/{model}.
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) {
	c, e := h.begin(r, "models")
	if e != nil {
		e.writeOpenAI(w)
		return
	}
	id := r.PathValue("model")
	ids, e := h.visibleModels(c)
	if e != nil {
		e.writeOpenAI(w)
		return
	}
	for _, m := range ids {
		if m == id {
			writeJSON(w, http.StatusOK, modelObject{ID: id, Object: "model", OwnedBy: "portico", Created: created})
			return
		}
	}
	(&apiError{status: 404, typ: "invalid_request_error", code: "model_not_found", param: "model",
		message: "The model `" + id + "` does not exist or you do not have access to it."}).writeOpenAI(w)
}

// created is the creation time reported for aliases (2025-01-01): they
// have none, and a fixed date keeps listings stable.
const created = 1735689600
