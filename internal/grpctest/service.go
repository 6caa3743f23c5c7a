package grpctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/portico-dev/portico/internal/grpctest/testpb"
)

// Service implements testpb.ShelfServer. It is safe for concurrent use.
type Service struct {
	testpb.UnimplementedShelfServer

	failEcho codes.Code

	mu    sync.Mutex
	calls map[string]int32
}

// Calls returns the number of Echo calls made with key.
func (s *Service) Calls(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.calls[key])
}

func (s *Service) count(key string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = make(map[string]int32)
	}
	s.calls[key]++
	return s.calls[key]
}

// GetBook answers with a book named after the request; the book "missing"
// is NOT_FOUND, with a google.rpc.ResourceInfo detail.
func (s *Service) GetBook(_ context.Context, req *testpb.GetBookRequest) (*testpb.Book, error) {
	shelf := req.GetShelf()
	if shelf == "" {
		shelf = "default"
	}
	name := "shelves/" + shelf + "/books/" + req.GetBook()
	if req.GetBook() == "missing" {
		st, _ := status.New(codes.NotFound, "no book "+name).WithDetails(&errdetails.ResourceInfo{
			ResourceType: "book", ResourceName: name, Description: "the shelf has no such book",
		})
		return nil, st.Err()
	}
	return &testpb.Book{Name: name, Title: "Book " + req.GetBook(), Author: req.GetView(), Genre: testpb.Genre_GENRE_FICTION, PageCount: 320}, nil
}

// CreateBook answers with the book, named on the shelf after its title,
// and the request ID as its only tag.
func (s *Service) CreateBook(_ context.Context, req *testpb.CreateBookRequest) (*testpb.Book, error) {
	b := req.GetBook()
	if b == nil || b.GetTitle() == "" {
		return nil, status.Error(codes.InvalidArgument, "book.title is required")
	}
	b.Name = "shelves/" + req.GetShelf() + "/books/" + strings.ToLower(strings.ReplaceAll(b.GetTitle(), " ", "-"))
	if req.GetRequestId() != "" {
		b.Tags = []string{req.GetRequestId()}
	}
	return b, nil
}

// UpdateBook answers with the book, one page longer.
func (s *Service) UpdateBook(_ context.Context, req *testpb.UpdateBookRequest) (*testpb.Book, error) {
	b := req.GetBook()
	b.PageCount++
	return b, nil
}

// ListBooks streams page_size books (3 by default) of the shelf, one per
// genre asked in turn. On the shelf "broken" it fails with UNAVAILABLE
// after the first book, on the shelf "invalid" with INVALID_ARGUMENT.
func (s *Service) ListBooks(req *testpb.ListBooksRequest, stream grpc.ServerStreamingServer[testpb.Book]) error {
	n := int(req.GetPageSize())
	if n == 0 {
		n = 3
	}
	for i := range n {
		b := &testpb.Book{Name: fmt.Sprintf("shelves/%s/books/%d", req.GetShelf(), i+1), Title: fmt.Sprintf("Book %d", i+1)}
		if g := req.GetGenres(); len(g) > 0 {
			b.Genre = g[i%len(g)]
		}
		if err := stream.Send(b); err != nil {
			return err
		}
		switch req.GetShelf() {
		case "broken":
			return status.Error(codes.Unavailable, "the shelf broke")
		case "invalid":
			return status.Error(codes.InvalidArgument, "the shelf is not a shelf")
		}
	}
	return nil
}

// Echo answers with its request's message, the deadline it saw, its
// attempt number (also in the x-attempt header) and its "x-" metadata,
// after failing or sleeping as the request asks.
func (s *Service) Echo(ctx context.Context, req *testpb.EchoRequest) (*testpb.EchoReply, error) {
	attempt := s.count(req.GetKey())
	if s.failEcho != codes.OK {
		return nil, status.Error(s.failEcho, "this instance fails every call")
	}
	if req.GetFailCode() != 0 && attempt <= req.GetFailTimes() {
		if p := req.GetPushbackMs(); p != "" {
			_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", p))
		}
		st := status.New(codes.Code(req.GetFailCode()), "failing as asked")
		if d := req.GetDetail(); d != "" {
			st, _ = st.WithDetails(&errdetails.ErrorInfo{Reason: d, Domain: "grpctest.portico.dev"})
		}
		return nil, st.Err()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-attempt", strconv.Itoa(int(attempt))))
	reply := &testpb.EchoReply{Message: req.GetMessage(), Attempt: attempt}
	if dl, ok := ctx.Deadline(); ok {
		reply.Deadline = durationpb.New(time.Until(dl))
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for k, v := range md {
			if strings.HasPrefix(k, "x-") {
				if reply.Metadata == nil {
					reply.Metadata = make(map[string]string)
				}
				reply.Metadata[k] = strings.Join(v, ",")
			}
		}
	}
	if d := req.GetSleep().AsDuration(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return reply, nil
}

// Collect sums the numbers the client streams.
func (s *Service) Collect(stream grpc.ClientStreamingServer[testpb.Number, testpb.Sum]) error {
	sum := &testpb.Sum{}
	for {
		n, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(sum)
		}
		if err != nil {
			return err
		}
		sum.Total += n.GetValue()
		sum.Count++
	}
}

// Chat answers each message as it arrives, until the client closes its side.
func (s *Service) Chat(stream grpc.BidiStreamingServer[testpb.EchoRequest, testpb.EchoReply]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.EchoReply{Message: req.GetMessage()}); err != nil {
			return err
		}
	}
}
