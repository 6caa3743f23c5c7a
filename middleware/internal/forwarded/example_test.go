package forwarded_test

import (
	"fmt"

	"github.com/portico-dev/portico/middleware/internal/forwarded"
)

func ExampleAppendFor() {
	nodes := forwarded.AppendFor(nil, []string{`for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711", for=_hidden`})
	for _, n := range nodes {
		a, ok := forwarded.ParseNode(n)
		fmt.Printf("%q %v %v\n", n, a, ok)
	}
	// Output:
	// "192.0.2.60" 192.0.2.60 true
	// "[2001:db8:cafe::17]:4711" 2001:db8:cafe::17 true
	// "_hidden" invalid IP false
}

func ExampleAppendXFF() {
	fmt.Printf("%q\n", forwarded.AppendXFF(nil, []string{"203.0.113.7, 10.0.0.1", "10.0.0.2"}))
	// Output:
	// ["203.0.113.7" "10.0.0.1" "10.0.0.2"]
}
