package ndjson_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/portico-dev/portico/internal/ndjson"
)

func ExampleDecoder() {
	d := ndjson.NewDecoder(strings.NewReader("{\"done\":false}\r\n\n{\"done\":true}"))
	for {
		line, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		fmt.Println(string(line))
	}
	// Output:
	// {"done":false}
	// {"done":true}
}
