package grpccode_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/portico-dev/portico/internal/grpccode"
)

func TestServerFailuresAreTheCodesOfAFailedServerSpan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code codes.Code
		want bool
	}{
		{codes.OK, false},
		{codes.Canceled, false},
		{codes.Unknown, true},
		{codes.InvalidArgument, false},
		{codes.DeadlineExceeded, true},
		{codes.NotFound, false},
		{codes.AlreadyExists, false},
		{codes.PermissionDenied, false},
		{codes.ResourceExhausted, false},
		{codes.FailedPrecondition, false},
		{codes.Aborted, false},
		{codes.OutOfRange, false},
		{codes.Unimplemented, true},
		{codes.Internal, true},
		{codes.Unavailable, true},
		{codes.DataLoss, true},
		{codes.Unauthenticated, false},
		{codes.Code(17), false},
	} {
		if got := grpccode.ServerFailure(int(tc.code)); got != tc.want {
			t.Errorf("ServerFailure(%v) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestNamesAreGRPCsAndNumberIsTheirInverse(t *testing.T) {
	t.Parallel()
	for c := range 17 {
		name := grpccode.Name(c)
		if got, want := name, codes.Code(c).String(); !sameName(got, want) {
			t.Errorf("Name(%d) = %q, want the name of %q", c, got, want)
		}
		if n, ok := grpccode.Number(name); n != c || !ok {
			t.Errorf("Number(%q) = %d, %v, want %d, true", name, n, ok, c)
		}
	}
	if got, want := grpccode.Name(42), "CODE(42)"; got != want {
		t.Errorf("Name(42) = %q, want %q", got, want)
	}
	if _, ok := grpccode.Number("NOPE"); ok {
		t.Error(`Number("NOPE") found a code`)
	}
}

// sameName reports whether a code's wire name ("INVALID_ARGUMENT") is Go's
// ("InvalidArgument"; Go spells CANCELLED "Canceled").
func sameName(wire, goName string) bool {
	if wire == "CANCELLED" {
		return goName == "Canceled"
	}
	return strings.EqualFold(strings.ReplaceAll(wire, "_", ""), goName)
}
