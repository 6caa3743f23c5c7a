package openai

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/aiclient"
)

// apiError is OpenAI's error object, also used by Azure and most
// compatible servers. Code is a string for OpenAI and a number for some
// compatible servers.
type apiError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   *string         `json:"param"`
	Code    json.RawMessage `json:"code"`
}

func (a *apiError) code() string {
	var s string
	if json.Unmarshal(a.Code, &s) == nil && s != "" {
		return s
	}
	return a.Type
}

func (a *apiError) toError(p *Provider, model string, status int) *aiclient.Error {
	e := &aiclient.Error{Provider: p.cfg.Provider, Model: model, Status: status, Code: a.code(), Message: p.cfg.Redact(a.Message)}
	return e.WithKind(kind(status, a.code(), a.Type))
}

func kind(status int, code, typ string) aiclient.Kind {
	switch {
	case code == "insufficient_quota" || typ == "insufficient_quota":
		return aiclient.KindQuotaExhausted
	case code == "context_length_exceeded" || code == "string_above_max_length":
		return aiclient.KindContextLength
	case code == "content_filter" || code == "content_policy_violation" || strings.Contains(code, "ResponsibleAIPolicyViolation"):
		return aiclient.KindContentFiltered
	case code == "rate_limit_exceeded" || typ == "rate_limit_exceeded" || code == "429":
		return aiclient.KindRateLimited
	case code == "invalid_api_key" || typ == "authentication_error":
		return aiclient.KindAuthentication
	case code == "model_not_found" || code == "DeploymentNotFound":
		return aiclient.KindNotFound
	case typ == "server_error" && status == http.StatusOK:
		return aiclient.KindServer
	}
	if status == http.StatusOK {
		return aiclient.KindServer
	}
	return aiclient.KindFromStatus(status)
}

func decodeError(res *http.Response, body []byte) *aiclient.Error {
	var w struct {
		Error *apiError `json:"error"`
		// vLLM and some others answer {"object":"error","message":...}.
		Object  string `json:"object"`
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	_ = json.Unmarshal(body, &w) // a body that is not an error object gives nil
	a := w.Error
	if a == nil {
		if w.Message == "" {
			return nil
		}
		a = &apiError{Message: w.Message, Type: w.Type}
	}
	e := &aiclient.Error{Status: res.StatusCode, Code: a.code(), Message: a.Message, Kind: kind(res.StatusCode, a.code(), a.Type)}
	return e
}
