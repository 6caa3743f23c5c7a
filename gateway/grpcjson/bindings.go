package grpcjson

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Route is one HTTP binding of a gRPC method.
type Route struct {
	// Method is the HTTP method, such as GET.
	Method string
	// Path is the google.api.http path template, such as
	// "/v1/shelves/{shelf}/books/{book}".
	Path string
	// RPC is the gRPC method, "/package.Service/Method".
	RPC string
	// Body is the request field the body fills: "*" for the whole
	// message, "" for none.
	Body string
	// ServerStreaming says that the method answers with a stream.
	ServerStreaming bool
}

// binding is a compiled [Route].
type binding struct {
	Route
	md       protoreflect.MethodDescriptor
	tpl      *Template
	body     protoreflect.FieldDescriptor // nil for "*" or none
	respBody protoreflect.FieldDescriptor // response_body, or nil
	bound    map[string]bool              // field paths set by the path or body
}

// bindingsOf compiles the HTTP bindings of the services named (every
// service in files when names is empty, except grpc.* ones).
func bindingsOf(files *protoregistry.Files, names []string) ([]*binding, error) {
	var svcs []protoreflect.ServiceDescriptor
	if len(names) == 0 {
		files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			for i := range fd.Services().Len() {
				if sd := fd.Services().Get(i); !strings.HasPrefix(string(sd.FullName()), "grpc.") {
					svcs = append(svcs, sd)
				}
			}
			return true
		})
		slices.SortFunc(svcs, func(a, b protoreflect.ServiceDescriptor) int { return cmp.Compare(a.FullName(), b.FullName()) })
	}
	for i, n := range names {
		d, err := files.FindDescriptorByName(protoreflect.FullName(n))
		if err != nil {
			return nil, fmt.Errorf("services[%d]: no service %q in the descriptors", i, n)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("services[%d]: %q is not a service", i, n)
		}
		svcs = append(svcs, sd)
	}
	var out []*binding
	var errs []error
	for _, sd := range svcs {
		for i := range sd.Methods().Len() {
			bs, err := methodBindings(sd.Methods().Get(i))
			out = append(out, bs...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, checkConflicts(out)
}

// methodBindings compiles the google.api.http rule of md and its
// additional bindings, or the default POST /package.Service/Method.
func methodBindings(md protoreflect.MethodDescriptor) ([]*binding, error) {
	rpc := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	annotated := false
	if rule != nil {
		m, _ := patternOf(rule)
		annotated = m != ""
	}
	if md.IsStreamingClient() {
		if annotated {
			return nil, fmt.Errorf("%s: google.api.http: client-streaming methods cannot be translated", md.FullName())
		}
		return nil, nil
	}
	if !annotated {
		b, err := compile(md, rpc, http.MethodPost, rpc, "*", "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", md.FullName(), err)
		}
		return []*binding{b}, nil
	}
	rules := append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...)
	var out []*binding
	for i, r := range rules {
		at := string(md.FullName()) + ": google.api.http"
		if i > 0 {
			at += fmt.Sprintf(".additional_bindings[%d]", i-1)
		}
		if len(r.GetAdditionalBindings()) > 0 && i > 0 {
			return nil, fmt.Errorf("%s: an additional binding cannot have its own", at)
		}
		method, path := patternOf(r)
		b, err := compile(md, rpc, method, path, r.GetBody(), r.GetResponseBody())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// patternOf returns the HTTP method and path template of a rule, or
// empty strings when it has no pattern.
func patternOf(r *annotations.HttpRule) (method, path string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

func compile(md protoreflect.MethodDescriptor, rpc, method, path, body, respBody string) (*binding, error) {
	tpl, err := ParseTemplate(path)
	if err != nil {
		return nil, err
	}
	b := &binding{
		Route: Route{Method: method, Path: path, RPC: rpc, Body: body, ServerStreaming: md.IsStreamingServer()},
		md:    md, tpl: tpl, bound: map[string]bool{},
	}
	in := md.Input()
	for _, v := range tpl.vars {
		fds, err := fieldPath(in, v.path)
		if err != nil {
			return nil, fmt.Errorf("path variable {%s}: %w", strings.Join(v.path, "."), err)
		}
		if last := fds[len(fds)-1]; last.IsList() || last.IsMap() || last.Kind() == protoreflect.MessageKind && !wellKnownScalar(last.Message()) {
			return nil, fmt.Errorf("path variable {%s}: field %s is not a scalar", strings.Join(v.path, "."), last.FullName())
		}
		b.bound[strings.Join(v.path, ".")] = true
	}
	switch body {
	case "", "*":
	default:
		fd := in.Fields().ByName(protoreflect.Name(body))
		if fd == nil {
			return nil, fmt.Errorf("body: %s has no field %q", in.FullName(), body)
		}
		b.body = fd
		b.bound[body] = true
	}
	if body != "" && (method == http.MethodGet || method == http.MethodDelete) {
		return nil, fmt.Errorf("body: a %s binding takes no body", method)
	}
	if respBody != "" {
		fd := md.Output().Fields().ByName(protoreflect.Name(respBody))
		if fd == nil {
			return nil, fmt.Errorf("response_body: %s has no field %q", md.Output().FullName(), respBody)
		}
		b.respBody = fd
	}
	return b, nil
}

// fieldPath resolves a dotted field path from msg by proto names.
func fieldPath(msg protoreflect.MessageDescriptor, path []string) ([]protoreflect.FieldDescriptor, error) {
	out := make([]protoreflect.FieldDescriptor, 0, len(path))
	for i, name := range path {
		fd := msg.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			fd = msg.Fields().ByJSONName(name)
		}
		if fd == nil {
			return nil, fmt.Errorf("%s has no field %q", msg.FullName(), name)
		}
		out = append(out, fd)
		if i < len(path)-1 {
			if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
				return nil, fmt.Errorf("field %s is not a message", fd.FullName())
			}
			msg = fd.Message()
		}
	}
	return out, nil
}

// checkConflicts refuses two bindings of the same method and template.
func checkConflicts(bs []*binding) error {
	seen := map[string]string{}
	for _, b := range bs {
		k := b.Method + " " + b.tpl.canonical()
		if prev, ok := seen[k]; ok {
			return fmt.Errorf("%s %s: bound to both %s and %s", b.Method, b.Path, prev, b.RPC)
		}
		seen[k] = b.RPC
	}
	return nil
}

// canonical writes the template with variables erased, so that two
// templates that match the same paths compare equal.
func (t *Template) canonical() string {
	var sb strings.Builder
	for _, s := range t.segs {
		sb.WriteByte('/')
		switch s.kind {
		case literal:
			sb.WriteString(s.text)
		case wildcard:
			sb.WriteByte('*')
		case deep:
			sb.WriteString("**")
		}
	}
	if t.verb != "" {
		sb.WriteString(":" + t.verb)
	}
	return sb.String()
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
