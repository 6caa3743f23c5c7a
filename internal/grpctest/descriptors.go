package grpctest

import _ "embed" // for the descriptor set

// DescriptorSet is the Shelf service's FileDescriptorSet, imports
// included, as protoc's --descriptor_set_out --include_imports writes it.
//
//go:embed testpb/shelf.binpb
var DescriptorSet []byte
