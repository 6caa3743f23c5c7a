// Package grpctest runs the test gRPC service of Portico's gRPC tests: a
// real grpc-go server on loopback, over h2c or TLS, with the standard
// health and reflection services.
//
// The service, Shelf (proto/shelf.proto), has one method of each streaming
// kind and google.api.http annotations. Its Go code and descriptor set
// are generated and committed in testpb; regenerate them with
//
//	protoc -I proto -I /usr/include \
//	  --go_out=testpb --go_opt=paths=source_relative \
//	  --go-grpc_out=testpb --go-grpc_opt=paths=source_relative \
//	  --descriptor_set_out=testpb/shelf.binpb --include_imports shelf.proto
//
// proto/google/api holds the subset of the googleapis annotations the
// service uses, with the original field numbers.
package grpctest
