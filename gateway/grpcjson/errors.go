package grpcjson

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // registers the standard error details for JSON
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/portico-dev/portico/gateway/calllog"
	"github.com/portico-dev/portico/gateway/upstream"
	"github.com/portico-dev/portico/internal/grpcwire"
	"github.com/portico-dev/portico/internal/problem"
	"github.com/portico-dev/portico/resilience"
)

// writeError answers a failed call with a problem document.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	noteStatus(r, err)
	problem.Write(w, r, h.problemFor(r, err))
}

// noteStatus records the call's gRPC status (OK when err is nil or
// io.EOF) in the request's call log record, if one is kept: the call log
// shows what the service answered, not only the HTTP status.
func noteStatus(r *http.Request, err error) {
	rec := calllog.FromContext(r.Context())
	if rec == nil {
		return
	}
	c := codes.OK
	if err != nil && !errors.Is(err, io.EOF) {
		if se, ok := errors.AsType[*grpcwire.StatusError](err); ok {
			c = codes.Code(se.Status.GetCode())
		} else {
			status, _ := exchangeFailure(r, err)
			c = grpcwire.CodeForHTTP(status)
		}
	}
	rec.GRPCStatus = calllog.GRPCCodeName(int(c))
}

// problemFor is the problem document of a failed call: a gRPC status
// keeps its code, message and details; a failure to reach the upstream
// is described without naming it.
func (h *Handler) problemFor(r *http.Request, err error) *problem.Details {
	se, ok := errors.AsType[*grpcwire.StatusError](err)
	if !ok {
		status, detail := exchangeFailure(r, err)
		return problem.New(status, detail)
	}
	st := se.Status
	c := codes.Code(st.GetCode())
	p := problem.New(grpcwire.HTTPStatus(c), st.GetMessage()).With("code", calllog.GRPCCodeName(int(c)))
	if len(st.GetDetails()) > 0 {
		details := make([]json.RawMessage, 0, len(st.GetDetails()))
		for _, d := range st.GetDetails() {
			details = append(details, h.detailJSON(d))
		}
		p.With("details", details)
	}
	return p
}

// detailJSON writes one google.rpc.Status detail as protojson writes an
// Any, or with its raw value when its type is unknown.
func (h *Handler) detailJSON(d *anypb.Any) json.RawMessage {
	if b, err := h.marshal(d); err == nil {
		return b
	}
	b, _ := json.Marshal(map[string]any{"@type": d.GetTypeUrl(), "value": d.GetValue()})
	return b
}

// exchangeFailure is the status and detail of an upstream exchange that
// produced no gRPC status.
func exchangeFailure(r *http.Request, err error) (int, string) {
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return resilience.StatusClientClosedRequest, "the client closed the request"
	case errors.Is(err, upstream.ErrNoInstance):
		return http.StatusServiceUnavailable, "no instance of the upstream is available"
	}
	status := resilience.HTTPStatus(err)
	switch status {
	case http.StatusGatewayTimeout:
		return status, "the upstream did not answer in time"
	case http.StatusServiceUnavailable:
		return status, "the upstream is unavailable"
	}
	return http.StatusBadGateway, "the upstream could not be reached"
}

// resolver finds message types in the descriptors first, then among
// the types linked into the program (the standard error details).
type resolver struct{ local *dynamicpb.Types }

func (r resolver) FindExtensionByName(n protoreflect.FullName) (protoreflect.ExtensionType, error) {
	if t, err := r.local.FindExtensionByName(n); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByName(n)
}

func (r resolver) FindExtensionByNumber(m protoreflect.FullName, n protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	if t, err := r.local.FindExtensionByNumber(m, n); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindExtensionByNumber(m, n)
}

func (r resolver) FindMessageByName(n protoreflect.FullName) (protoreflect.MessageType, error) {
	if t, err := r.local.FindMessageByName(n); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindMessageByName(n)
}

func (r resolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if t, err := r.local.FindMessageByURL(url); err == nil {
		return t, nil
	}
	return protoregistry.GlobalTypes.FindMessageByURL(url)
}
