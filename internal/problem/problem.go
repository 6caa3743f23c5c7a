package problem

import (
	"encoding/json"
	"maps"
	"net/http"

	"github.com/portico-dev/portico/internal/requestid"
	"github.com/portico-dev/portico/internal/traceid"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Details is an RFC 9457 problem document.
//
// Extensions are written as top-level members next to the standard ones;
// an extension whose name is one of the standard members is ignored.
type Details struct {
	// Type is a URI reference that identifies the problem type.
	// If empty, "about:blank" is written.
	Type string
	// Title is a short, human-readable summary of the problem type.
	// If empty and Type is "about:blank", the status text is used.
	Title string
	// Status is the HTTP status code.
	Status int
	// Detail explains this occurrence of the problem to the client.
	Detail string
	// Instance is a URI reference that identifies this occurrence.
	Instance string
	// Extensions holds extra members, such as "errors" for a list of
	// validation failures.
	Extensions map[string]any
}

// New returns a problem of type "about:blank" with the given status and detail.
func New(status int, detail string) *Details {
	return &Details{Status: status, Detail: detail}
}

// With sets an extension member and returns p.
func (p *Details) With(name string, value any) *Details {
	if p.Extensions == nil {
		p.Extensions = make(map[string]any, 2)
	}
	p.Extensions[name] = value
	return p
}

// MarshalJSON encodes the document with the extensions at the top level.
func (p *Details) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 5+len(p.Extensions))
	maps.Copy(m, p.Extensions)
	typ := p.Type
	if typ == "" {
		typ = "about:blank"
	}
	m["type"] = typ
	title := p.Title
	if title == "" && typ == "about:blank" {
		title = http.StatusText(p.Status)
	}
	if title != "" {
		m["title"] = title
	} else {
		delete(m, "title")
	}
	if p.Status != 0 {
		m["status"] = p.Status
	} else {
		delete(m, "status")
	}
	if p.Detail != "" {
		m["detail"] = p.Detail
	} else {
		delete(m, "detail")
	}
	if p.Instance != "" {
		m["instance"] = p.Instance
	} else {
		delete(m, "instance")
	}
	return json.Marshal(m)
}

// Write sends p as the response. It sets the status (500 if p.Status is
// zero), the problem content type and "Cache-Control: no-store", and adds
// the request ID from r's context as the "request_id" extension and its
// trace ID (package traceid: the Telemetry middleware's span), if any, as
// "trace_id". Headers
// already set on w, such as Retry-After, are kept, except Content-Length
// and Content-Encoding, which belonged to a body that is not being sent.
func Write(w http.ResponseWriter, r *http.Request, p *Details) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if r != nil {
		if id := requestid.FromContext(r.Context()); id != "" {
			if _, ok := p.Extensions["request_id"]; !ok {
				p.With("request_id", id)
			}
		}
		if id, ok := traceid.FromContext(r.Context()); ok {
			if _, ok := p.Extensions["trace_id"]; !ok {
				p.With("trace_id", id.String())
			}
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		// Only an extension that cannot be encoded gets here; drop them all.
		body, _ = json.Marshal(&Details{Type: p.Type, Title: p.Title, Status: p.Status, Detail: p.Detail, Instance: p.Instance})
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Del("Last-Modified")
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	if r == nil || r.Method != http.MethodHead {
		_, _ = w.Write(append(body, '\n'))
	}
}

// Error writes a problem of type "about:blank" with the given status and detail.
func Error(w http.ResponseWriter, r *http.Request, status int, detail string) {
	Write(w, r, New(status, detail))
}
