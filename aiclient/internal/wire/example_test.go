package wire_test

import (
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/aiclient/internal/wire"
)

func ExampleBody() {
	body, err := wire.Body(map[string]any{"model": "gpt-4o", "temperature": 0.2},
		map[string]json.RawMessage{"temperature": json.RawMessage(`1`), "reasoning_effort": json.RawMessage(`"low"`)})
	fmt.Println(string(body), err)
	// Output:
	// {"model":"gpt-4o","reasoning_effort":"low","temperature":1} <nil>
}
