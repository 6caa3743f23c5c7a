package ai

import (
	"encoding/json"
	"testing"
)

func TestContentStringsDecodeAsEncodingJSONDoes(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`""`, `"plain"`, `"héllo 世界"`, `"a \"quoted\" word\nand a line"`, `"\u00e9\ud83d\ude00"`, "\"bad \xff byte\"", ` "spaced" `} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		parts, e := contentParts(json.RawMessage(raw), func() string { return "messages[0].content" })
		if e != nil {
			t.Errorf("%s: %v", raw, e.message)
			continue
		}
		if got, want := len(parts), 1; got != want {
			t.Errorf("%s: %d parts, want %d", raw, got, want)
			continue
		}
		if got := parts[0].Text; got != want {
			t.Errorf("%s: text %q, want %q", raw, got, want)
		}
	}
}
