package grpcjson_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/portico-dev/portico/gateway/grpcjson"
)

// filesWith describes a service bad.Svc whose methods (on bad.Req, with
// one string field "name") carry the rules given.
func filesWith(t *testing.T, rules map[string]*annotations.HttpRule, clientStreaming ...string) *protoregistry.Files {
	t.Helper()
	svc := &descriptorpb.ServiceDescriptorProto{Name: proto.String("Svc")}
	for name, rule := range rules {
		opts := &descriptorpb.MethodOptions{}
		if rule != nil {
			proto.SetExtension(opts, annotations.E_Http, rule)
		}
		m := &descriptorpb.MethodDescriptorProto{
			Name:       proto.String(name),
			InputType:  proto.String(".bad.Req"),
			OutputType: proto.String(".bad.Req"),
			Options:    opts,
		}
		for _, cs := range clientStreaming {
			if cs == name {
				m.ClientStreaming = proto.Bool(true)
			}
		}
		svc.Method = append(svc.Method, m)
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("bad.proto"),
		Package: proto.String("bad"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Req"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("name"),
				JsonName: proto.String("name"),
				Number:   proto.Int32(1),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{svc},
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fd}})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func get(path string) *annotations.HttpRule {
	return &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: path}}
}

func TestNewNamesTheMethodAndFieldOfABadAnnotation(t *testing.T) {
	t.Parallel()
	withBody := get("/v1/x")
	withBody.Body = "*"
	bodyless := &annotations.HttpRule{Pattern: &annotations.HttpRule_Post{Post: "/v1/x"}, Body: "zzz"}
	badExtra := get("/v1/ok")
	badExtra.AdditionalBindings = []*annotations.HttpRule{get("v1/no-slash")}
	for _, tc := range []struct {
		name   string
		rules  map[string]*annotations.HttpRule
		stream []string
		want   string
	}{
		{
			name:   "an unclosed variable",
			rules:  map[string]*annotations.HttpRule{"Get": get("/v1/{name")},
			stream: nil,
			want:   "bad.Svc.Get: google.api.http: path template",
		},
		{
			name:   "an unknown path field",
			rules:  map[string]*annotations.HttpRule{"Get": get("/v1/{nope}")},
			stream: nil,
			want:   "path variable {nope}: bad.Req has no field",
		},
		{
			name:   "a body on a GET",
			rules:  map[string]*annotations.HttpRule{"Get": withBody},
			stream: nil,
			want:   "body: a GET binding takes no body",
		},
		{
			name:   "an unknown body field",
			rules:  map[string]*annotations.HttpRule{"Post": bodyless},
			stream: nil,
			want:   `body: bad.Req has no field "zzz"`,
		},
		{
			name:   "a bad additional binding",
			rules:  map[string]*annotations.HttpRule{"Get": badExtra},
			stream: nil,
			want:   "additional_bindings[0]: path template",
		},
		{
			name:   "** before the end",
			rules:  map[string]*annotations.HttpRule{"Get": get("/v1/**/x")},
			stream: nil,
			want:   "** must be the last segment",
		},
		{
			name:   "a client-streaming method",
			rules:  map[string]*annotations.HttpRule{"Up": get("/v1/up")},
			stream: []string{"Up"},
			want:   "client-streaming",
		},
		{
			name:   "two methods on one path",
			rules:  map[string]*annotations.HttpRule{"A": get("/v1/{name}"), "B": get("/v1/{name=*}")},
			stream: nil,
			want:   "bound to both",
		},
	} {
		_, err := grpcjson.New(grpcjson.Config{Files: filesWith(t, tc.rules, tc.stream...)})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q lacks %q", tc.name, err, tc.want)
		}
	}
}

func TestNewRefusesAnUnknownService(t *testing.T) {
	t.Parallel()
	_, err := grpcjson.New(grpcjson.Config{Files: filesWith(t, nil), Services: []string{"bad.Nope"}})
	wantErrContaining(t, err, `services[0]: no service "bad.Nope"`)
	_, err = grpcjson.New(grpcjson.Config{})
	wantErrContaining(t, err, "files")
}

func TestRoutesListsEveryBinding(t *testing.T) {
	t.Parallel()
	files, err := grpcjson.ParseDescriptorSet(descriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	h, err := grpcjson.New(grpcjson.Config{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range h.Routes() {
		got[r.Method+" "+r.Path] = r.RPC
	}
	for route, rpc := range map[string]string{
		"GET /v1/shelves/{shelf}/books/{book}":    "/portico.grpctest.v1.Shelf/GetBook",
		"GET /v1/books/{book}":                    "/portico.grpctest.v1.Shelf/GetBook",
		"POST /v1/shelves/{shelf}/books":          "/portico.grpctest.v1.Shelf/CreateBook",
		"PATCH /v1/{book.name=shelves/*/books/*}": "/portico.grpctest.v1.Shelf/UpdateBook",
		"GET /v1/shelves/{shelf}/books":           "/portico.grpctest.v1.Shelf/ListBooks",
		"POST /portico.grpctest.v1.Shelf/Echo":    "/portico.grpctest.v1.Shelf/Echo",
	} {
		if got[route] != rpc {
			t.Errorf("%s: bound to %q, want %q", route, got[route], rpc)
		}
	}
	if got, want := len(h.Routes()), 6; got != want {
		t.Errorf("%d routes, want %d (Collect and Chat stream from the client)", got, want)
	}
}
