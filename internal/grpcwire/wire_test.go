package grpcwire_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/portico-dev/portico/internal/grpcwire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTimeoutsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{time.Nanosecond, 1500 * time.Microsecond, 5 * time.Second, 90 * time.Minute, 10000 * time.Hour} {
		got, ok := grpcwire.ParseTimeout(grpcwire.FormatTimeout(d))
		if !ok {
			t.Errorf("%v: %q does not parse", d, grpcwire.FormatTimeout(d))
			continue
		}
		if got < d {
			t.Errorf("%v: read back as %v, less than written", d, got)
		}
	}
	for _, bad := range []string{"", "5", "5x", "-1S", "123456789S", "S"} {
		if _, ok := grpcwire.ParseTimeout(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestMessagesArePercentEncoded(t *testing.T) {
	t.Parallel()
	for _, m := range []string{"plain", "100% sure", "ünïcode\nand a newline"} {
		enc := grpcwire.EncodeMessage(m)
		for i := range len(enc) {
			if !isPrintableASCII(enc[i]) {
				t.Errorf("%q: encoded %q has byte %#x", m, enc, enc[i])
			}
		}
		if got := grpcwire.DecodeMessage(enc); got != m {
			t.Errorf("%q: decoded back as %q", m, got)
		}
	}
}

func TestStatusKeepsItsDetails(t *testing.T) {
	t.Parallel()
	detail, err := anypb.New(&errdetails.ErrorInfo{Reason: "R"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	grpcwire.SetStatus(h, &spb.Status{Code: int32(codes.NotFound), Message: "no such book", Details: []*anypb.Any{detail}})
	st, ok := grpcwire.Status(h)
	if !ok {
		t.Fatal("no status read back")
	}
	if got, want := codes.Code(st.GetCode()), codes.NotFound; got != want {
		t.Errorf("code %v, want %v", got, want)
	}
	if got, want := st.GetMessage(), "no such book"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if got, want := len(st.GetDetails()), 1; got != want {
		t.Errorf("%d details, want %d", got, want)
	}
	if _, ok := grpcwire.Status(http.Header{}); ok {
		t.Error("a status read from empty headers")
	}
}

func TestFramesRoundTripAndLimit(t *testing.T) {
	t.Parallel()
	r := bytes.NewReader(append(grpcwire.Frame([]byte("abc")), grpcwire.Frame(make([]byte, 100))...))
	msg, err := grpcwire.ReadFrame(r, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(msg), "abc"; got != want {
		t.Errorf("first message %q, want %q", got, want)
	}
	if _, err := grpcwire.ReadFrame(r, 10); err == nil {
		t.Error("a message over the limit was read")
	}
	if _, err := grpcwire.ReadFrame(bytes.NewReader(nil), 10); !errors.Is(err, io.EOF) {
		t.Errorf("empty stream: %v, want EOF", err)
	}
	if _, err := grpcwire.ReadFrame(bytes.NewReader([]byte{1, 0, 0, 0, 0}), 10); !errors.Is(err, grpcwire.ErrCompressed) {
		t.Errorf("compressed message: %v, want ErrCompressed", err)
	}
}

func TestCodesAndStatusesMapBothWays(t *testing.T) {
	t.Parallel()
	for _, c := range []codes.Code{codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted, codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented, codes.Canceled} {
		if got := grpcwire.CodeForHTTP(grpcwire.HTTPStatus(c)); got != c {
			t.Errorf("%v: HTTP %d maps back to %v", c, grpcwire.HTTPStatus(c), got)
		}
	}
}

// isPrintableASCII reports whether b is a printable ASCII byte.
func isPrintableASCII(b byte) bool { return b >= 0x20 && b < 0x7f }
