// Package grpcwire holds the parts of the gRPC wire protocol over HTTP/2
// that Portico's gRPC packages share: message framing, the grpc-timeout
// and grpc-message encodings, the status of a response, and the mapping
// between gRPC codes and HTTP statuses.
package grpcwire

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// ContentType is the media type of a gRPC request or response with
// protobuf messages.
const ContentType = "application/grpc"

// IsGRPC reports whether a Content-Type names the gRPC protocol
// ("application/grpc", "application/grpc+proto", ...), but not gRPC-Web.
func IsGRPC(contentType string) bool {
	return contentType == ContentType || strings.HasPrefix(contentType, ContentType+"+") ||
		strings.HasPrefix(contentType, ContentType+";")
}

// Frame returns msg as one uncompressed length-prefixed message.
func Frame(msg []byte) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:5], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

// ErrCompressed is returned by [ReadFrame] for a compressed message,
// which this package does not decode.
var ErrCompressed = errors.New("grpc: compressed messages are not supported")

// ReadFrame reads one length-prefixed message of at most limit bytes.
// It returns io.EOF when r ends before a frame starts.
func ReadFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("grpc: truncated message header: %w", err)
		}
		return nil, err
	}
	if hdr[0]&1 != 0 {
		return nil, ErrCompressed
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if int64(n) > int64(limit) {
		return nil, fmt.Errorf("grpc: a message of %d bytes is larger than the limit of %d", n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("grpc: truncated message: %w", err)
	}
	return b, nil
}

// ParseTimeout decodes a grpc-timeout value such as "100m" or "5S".
func ParseTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	if n > int64(1<<63-1)/int64(unit) {
		return 1<<63 - 1, true
	}
	return time.Duration(n) * unit, true
}

// FormatTimeout encodes d as a grpc-timeout value of at most 8 digits,
// rounding up so that the receiver never sees less time than d.
func FormatTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	const maxDigits = 1e8
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{time.Nanosecond, "n"}, {time.Microsecond, "u"}, {time.Millisecond, "m"}, {time.Second, "S"}, {time.Minute, "M"}, {time.Hour, "H"}} {
		if n := (d + u.d - 1) / u.d; n < maxDigits {
			return strconv.FormatInt(int64(n), 10) + u.unit
		}
	}
	return "99999999H"
}

// EncodeMessage percent-encodes a grpc-message value.
func EncodeMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// DecodeMessage decodes a percent-encoded grpc-message value; invalid
// escapes are kept as they are.
func DecodeMessage(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Status reads the status of a call from h, the trailers of a response
// or the headers of a trailers-only one: grpc-status, grpc-message and
// grpc-status-details-bin. ok is false when h has no grpc-status.
func Status(h http.Header) (st *spb.Status, ok bool) {
	v := h.Get("Grpc-Status")
	if v == "" {
		return nil, false
	}
	code, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return &spb.Status{Code: int32(codes.Unknown), Message: "invalid grpc-status " + strconv.Quote(v)}, true
	}
	st = &spb.Status{Code: int32(code), Message: DecodeMessage(h.Get("Grpc-Message"))}
	if bin := h.Get("Grpc-Status-Details-Bin"); bin != "" {
		if raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(bin, "=")); err == nil {
			var full spb.Status
			if proto.Unmarshal(raw, &full) == nil && full.GetCode() == st.GetCode() {
				st.Details = full.GetDetails()
			}
		}
	}
	return st, true
}

// SetStatus writes st as grpc-status, grpc-message and, with details,
// grpc-status-details-bin into h.
func SetStatus(h http.Header, st *spb.Status) {
	h.Set("Grpc-Status", strconv.Itoa(int(st.GetCode())))
	if m := st.GetMessage(); m != "" {
		h.Set("Grpc-Message", EncodeMessage(m))
	}
	if len(st.GetDetails()) > 0 {
		if raw, err := proto.Marshal(st); err == nil {
			h.Set("Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(raw))
		}
	}
}
