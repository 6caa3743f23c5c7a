package pathnorm_test

import (
	"fmt"

	"github.com/portico-dev/portico/internal/pathnorm"
)

func ExampleNormalize() {
	for _, p := range []string{"/api/public/../private/x", "//api/./users/", "/api/public/%2e%2e/private/x"} {
		out, err := pathnorm.Normalize(p, pathnorm.Reject)
		fmt.Printf("%s -> %q %v\n", p, out, err)
	}
	out, err := pathnorm.Normalize("/api/public/..%2fprivate/x", pathnorm.Decode)
	fmt.Printf("decoded: %q %v\n", out, err)
	// Output:
	// /api/public/../private/x -> "/api/private/x" <nil>
	// //api/./users/ -> "/api/users/" <nil>
	// /api/public/%2e%2e/private/x -> "" the path holds an escaped dot, slash or backslash (%2E, %2F, %5C) or a backslash; send dots and slashes unescaped
	// decoded: "/api/private/x" <nil>
}
