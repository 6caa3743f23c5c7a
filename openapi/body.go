package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// readBody reads the whole body of r, up to limit bytes, and puts it back
// so that handlers and retrying transports downstream read the same bytes:
// r.Body is a fresh reader, r.GetBody returns another, and ContentLength is
// exact.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	var data []byte
	var err error
	if r.ContentLength > 0 {
		// Known length: one exact allocation, and a check that nothing follows.
		data = make([]byte, r.ContentLength)
		if _, err = io.ReadFull(r.Body, data); err == nil {
			var one [1]byte
			if n, _ := r.Body.Read(one[:]); n > 0 {
				err = errors.New("body longer than its Content-Length")
			}
		}
	} else {
		data, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	replay(r, data)
	return data, nil
}

var errTooLarge = errors.New("body too large")

// replay sets r's body to data in a way a retrying transport can resend:
// Body reads data, GetBody returns a new reader over it, and ContentLength
// is len(data).
func replay(r *http.Request, data []byte) {
	r.ContentLength = int64(len(data))
	r.TransferEncoding = nil
	if len(data) == 0 {
		r.Body, r.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func (v *Validator) checkBody(r *http.Request, b *body) ([]Violation, error) {
	if isEmpty(r) {
		if b.required {
			return []Violation{{In: "body", Message: "is required", Keyword: "required"}}, nil
		}
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, &ValidationError{Status: http.StatusUnsupportedMediaType, Detail: "a Content-Type header is required; the operation accepts " + accepted(b.media)}
	}
	mt, params := ct, map[string]string(nil)
	if strings.ContainsAny(ct, "; \tABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		var err error
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return nil, &ValidationError{Status: http.StatusUnsupportedMediaType, Detail: "the Content-Type header is malformed; the operation accepts " + accepted(b.media)}
		}
	}
	m := matchMedia(b.media, mt)
	if m == nil {
		return nil, &ValidationError{Status: http.StatusUnsupportedMediaType, Detail: "content type " + mt + " is not accepted; the operation accepts " + accepted(b.media)}
	}
	k := kindOf(mt)
	if m.compiled == nil || k == kindOther {
		// Nothing to check inside (an upload, opaque bytes): the body
		// streams through untouched, whatever its size.
		return nil, nil
	}
	data, err := readBody(r, v.cfg.bodyLimit)
	if errors.Is(err, errTooLarge) {
		return nil, &ValidationError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the request body is larger than %d bytes", v.cfg.bodyLimit)}
	}
	if err != nil {
		return nil, &ValidationError{Status: http.StatusBadRequest, Detail: "the request body could not be read"}
	}
	if len(data) == 0 {
		if b.required {
			return []Violation{{In: "body", Message: "is required", Keyword: "required"}}, nil
		}
		return nil, nil
	}
	return validateBody(m, k, params, data), nil
}

// isEmpty reports whether r has no body. A body of unknown length is
// peeked at, one byte, and put back.
func isEmpty(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return true
	}
	if r.ContentLength > 0 {
		return false
	}
	var one [1]byte
	n, err := io.ReadFull(r.Body, one[:])
	if n == 0 {
		if errors.Is(err, io.EOF) {
			r.Body.Close()
			r.Body = http.NoBody
			return true
		}
		return false
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(one[:n]), r.Body), r.Body}
	return false
}

// validateBody decodes data as kind and validates it against m's schema.
func validateBody(m *media, k mediaKind, params map[string]string, data []byte) []Violation {
	if m.compiled == nil {
		return nil
	}
	value, err := decodeBody(m, k, params, data)
	if err != nil {
		return []Violation{{In: "body", Message: err.Error()}}
	}
	if value == nil && k == kindOther {
		return nil // opaque bytes: nothing to validate
	}
	return m.compiled.violations(value, "body", "")
}

func decodeBody(m *media, k mediaKind, params map[string]string, data []byte) (any, error) {
	switch k {
	case kindJSON:
		return parseJSON(data)
	case kindForm:
		q, err := url.ParseQuery(string(data))
		if err != nil {
			return nil, errors.New("must be a valid URL-encoded form")
		}
		return formObject(m, q), nil
	case kindMultipart:
		form, err := multipart.NewReader(bytes.NewReader(data), params["boundary"]).ReadForm(int64(len(data)) + 1)
		if err != nil {
			return nil, errors.New("must be a valid multipart form")
		}
		defer func() { _ = form.RemoveAll() }()
		q := url.Values(form.Value)
		for name, files := range form.File {
			for _, fh := range files {
				f, err := fh.Open()
				if err != nil {
					return nil, errors.New("must be a valid multipart form")
				}
				b, _ := io.ReadAll(f)
				f.Close()
				q.Add(name, string(b))
			}
		}
		return formObject(m, q), nil
	case kindText:
		return string(data), nil
	}
	return nil, nil
}

// formObject turns form fields into the object the schema describes.
func formObject(m *media, q url.Values) map[string]any {
	obj := make(map[string]any, len(q))
	for k, vs := range q {
		ps := propSchema(m.compiled.shapeOf(), k)
		if typeOf(ps) == "array" {
			obj[k] = itemsOf(ps, vs)
		} else {
			obj[k] = coerce(ps, vs[0])
		}
	}
	return obj
}

func accepted(list []*media) string {
	names := make([]string, len(list))
	for i, m := range list {
		names[i] = m.typ
	}
	return strings.Join(names, ", ")
}
