package jsonscan_test

import (
	"fmt"

	"github.com/portico-dev/portico/internal/jsonscan"
)

func Example() {
	var name string
	var tags []string
	s := jsonscan.New([]byte(`{"name":"portico","tags":["gateway","ai"],"extra":{"a":1}}`))
	ok := s.Object([]string{"name", "tags"}, func(k int) bool {
		if k == 0 {
			return s.Str(&name)
		}
		return jsonscan.Array(&s, &tags, func(t *string) bool { return s.Str(t) })
	}, func(member, raw []byte) {
		fmt.Printf("left: %s=%s\n", member, raw)
	}) && s.End()
	fmt.Println(ok, name, tags)
	// Output:
	// left: extra={"a":1}
	// true portico [gateway ai]
}
