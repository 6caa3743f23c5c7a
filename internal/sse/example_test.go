package sse_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/portico-dev/portico/internal/sse"
)

func ExampleDecoder() {
	stream := ": keep-alive\r\nevent: delta\r\ndata: {\"text\":\"Hel\"}\r\n\r\ndata: [DONE]\r\n\r\n"
	d := sse.NewDecoder(strings.NewReader(stream))
	for {
		ev, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("type=%q data=%s\n", ev.Type, ev.Data)
	}
	// Output:
	// type="delta" data={"text":"Hel"}
	// type="" data=[DONE]
}

func ExampleEncoder() {
	enc := sse.NewEncoder(os.Stdout)
	_ = enc.Encode(sse.Event{Type: "message", Data: []byte("line one\nline two")})
	// Output:
	// event: message
	// data: line one
	// data: line two
}
