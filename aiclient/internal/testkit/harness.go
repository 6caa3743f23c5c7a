package testkit

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/portico-dev/portico/aiclient"
)

// Deadline bounds a test's calls generously, for loaded machines, and
// cancels when the test ends.
func Deadline(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Connect builds the adapter under test talking to baseURL, with no
// retry policies.
type Connect func(baseURL string) aiclient.Provider

// Fixture is one recorded body under testdata and the golden file its
// decoded response must match. Name is a sentence naming what it covers.
type Fixture struct {
	Name, File, Want string
}

// hi is the request the fixture tests send: its content does not matter,
// since the server replays a recording.
func hi(model string) *aiclient.Request {
	return &aiclient.Request{Model: model, Messages: []aiclient.Message{aiclient.UserText("hi")}}
}

// ResponseFixtures replays each fixture as a whole JSON response to a
// Chat call against model and compares the decoded response with its
// golden file, one parallel subtest per fixture.
func ResponseFixtures(t *testing.T, connect Connect, model string, fixtures []Fixture) {
	t.Helper()
	for _, tt := range fixtures {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			srv := Serve(t, "application/json", Read(t, tt.File), Chunking{})
			resp, err := connect(srv.URL).Chat(Deadline(t), hi(model))
			if err != nil {
				t.Fatal(err)
			}
			Golden(t, tt.Want, JSON(t, resp))
		})
	}
}

// StreamOption changes how the stream harnesses serve fixtures.
type StreamOption func(*streamOptions)

type streamOptions struct {
	encode func(testing.TB, []byte) []byte
}

// Encoded serves each fixture file as encode turns it, in the chunkings
// that do not rewrite line ends: for binary framings kept as text under
// testdata, such as Bedrock's event streams (see [EventStream]).
func Encoded(encode func(testing.TB, []byte) []byte) StreamOption {
	return func(o *streamOptions) { o.encode = encode }
}

// streamBodies returns the chunkings a fixture is served in and its body.
func streamBodies(t testing.TB, file string, opts []StreamOption) ([]Chunking, []byte) {
	var o streamOptions
	for _, opt := range opts {
		opt(&o)
	}
	body := Read(t, file)
	if o.encode == nil {
		return Chunkings, body
	}
	var cs []Chunking
	for _, c := range Chunkings {
		if !c.CRLF {
			cs = append(cs, c)
		}
	}
	return cs, o.encode(t, body)
}

// StreamFixtures replays each fixture, served as contentType, to a Stream
// call against model in every one of [Chunkings] and compares the
// collected response with its golden file, one parallel subtest per
// fixture and chunking. With -update only the whole delivery writes the
// golden file.
func StreamFixtures(t *testing.T, connect Connect, contentType, model string, fixtures []Fixture, opts ...StreamOption) {
	t.Helper()
	for _, tt := range fixtures {
		chunkings, body := streamBodies(t, tt.File, opts)
		for _, c := range chunkings {
			t.Run(tt.Name+" delivered "+c.Name, func(t *testing.T) {
				t.Parallel()
				srv := Serve(t, contentType, body, c)
				s, err := connect(srv.URL).Stream(Deadline(t), hi(model))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := aiclient.Collect(s)
				if err != nil {
					t.Fatal(err)
				}
				if *Update && c.Split != nil {
					return // write the golden file once, from the whole delivery
				}
				Golden(t, tt.Want, JSON(t, resp))
			})
		}
	}
}

// StreamError replays file, a stream that fails after status 200, served
// as contentType, in every one of [Chunkings]. The stream must end in an
// error that check accepts, after a partial response whose text is
// partial.
func StreamError(t *testing.T, connect Connect, contentType, file, model, partial string, check func(t *testing.T, err error), opts ...StreamOption) {
	t.Helper()
	chunkings, body := streamBodies(t, file, opts)
	for _, c := range chunkings {
		t.Run("delivered "+c.Name, func(t *testing.T) {
			t.Parallel()
			srv := Serve(t, contentType, body, c)
			s, err := connect(srv.URL).Stream(Deadline(t), &aiclient.Request{Model: model})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := aiclient.Collect(s)
			check(t, err)
			if resp.Message.Text() != partial {
				t.Fatalf("partial response %q, want the text before the error, %q", resp.Message.Text(), partial)
			}
		})
	}
}

// SameWholeAndStreamed sends req to p once with Chat and once with
// Stream, and fails unless both give identical responses with the usage
// want. The server behind p must have two replies queued.
func SameWholeAndStreamed(t *testing.T, p aiclient.Provider, req *aiclient.Request, want aiclient.Usage) {
	t.Helper()
	whole, err := p.Chat(Deadline(t), req)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Stream(Deadline(t), req)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := aiclient.Collect(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(whole, streamed) {
		a, _ := json.Marshal(whole)
		b, _ := json.Marshal(streamed)
		t.Fatalf("responses differ:\nwhole    %s\nstreamed %s", a, b)
	}
	if whole.Usage != want {
		t.Fatalf("usage %+v, want %+v", whole.Usage, want)
	}
}
