package grpcjson

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/portico-dev/portico/internal/grpcwire"
)

// LoadDescriptorSet reads a FileDescriptorSet written by
// "protoc --descriptor_set_out=FILE --include_imports".
func LoadDescriptorSet(path string) (*protoregistry.Files, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseDescriptorSet(raw)
}

// ParseDescriptorSet decodes a serialized FileDescriptorSet. Every import
// must be in the set (protoc's --include_imports).
func ParseDescriptorSet(raw []byte) (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a FileDescriptorSet: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("descriptor set: %w (was it written with --include_imports?)", err)
	}
	return files, nil
}

// Reflect asks the gRPC server at target ("http://host:port" for h2c,
// "https://host:port" for TLS) for its services with the server
// reflection protocol (grpc.reflection.v1), through rt, which must speak
// HTTP/2. The reflection and health services are left out of the answer's
// services, but their files are kept.
func Reflect(ctx context.Context, rt http.RoundTripper, target string) (*protoregistry.Files, error) {
	list, err := reflectCall(ctx, rt, target, &reflectpb.ServerReflectionRequest{
		MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	})
	if err != nil {
		return nil, err
	}
	byName := map[string]*descriptorpb.FileDescriptorProto{}
	for _, svc := range list.GetListServicesResponse().GetService() {
		name := svc.GetName()
		if strings.HasPrefix(name, "grpc.reflection.") {
			continue
		}
		resp, err := reflectCall(ctx, rt, target, &reflectpb.ServerReflectionRequest{
			MessageRequest: &reflectpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name},
		})
		if err != nil {
			return nil, fmt.Errorf("reflection of %s: %w", name, err)
		}
		for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := new(descriptorpb.FileDescriptorProto)
			if err := proto.Unmarshal(raw, fd); err != nil {
				return nil, fmt.Errorf("reflection of %s: %w", name, err)
			}
			byName[fd.GetName()] = fd
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range byName {
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	return files, nil
}

// reflectCall makes one exchange of the reflection stream.
func reflectCall(ctx context.Context, rt http.RoundTripper, target string, q *reflectpb.ServerReflectionRequest) (*reflectpb.ServerReflectionResponse, error) {
	msg, err := proto.Marshal(q)
	if err != nil {
		return nil, err
	}
	req, err := grpcwire.NewRequest(ctx, target, reflectpb.ServerReflection_ServerReflectionInfo_FullMethodName, msg)
	if err != nil {
		return nil, err
	}
	s, err := grpcwire.Open(rt, req, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	defer s.Close()
	raw, err := s.Recv()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("reflection: no answer")
	}
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	var resp reflectpb.ServerReflectionResponse
	if err := proto.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	if e := resp.GetErrorResponse(); e != nil {
		return nil, fmt.Errorf("reflection: %s", e.GetErrorMessage())
	}
	return &resp, nil
}
