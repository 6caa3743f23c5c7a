package openai

import (
	"encoding/json"
	"slices"

	"github.com/portico-dev/portico/aiclient"
	"github.com/portico-dev/portico/internal/jsonscan"
)

// scanner reads the JSON of a completion or stream chunk straight into
// the adapter's types, for the shapes servers send (see the jsonscan
// package): every method reports false on anything it does not handle
// exactly as encoding/json would (and on a non-null error or logprobs),
// and the caller then decodes with encoding/json. A failed scan leaves
// its target partly filled.
type scanner struct {
	jsonscan.Scanner
	// extra, with top set before the outer object, collects the members
	// of that object that [native] keeps, as [aiclient.Unknown] would.
	extra map[string]json.RawMessage
	top   bool
}

// newScanner returns a scanner of data; top collects the members of
// the outer object that native keeps.
func newScanner(data []byte, top bool) scanner {
	return scanner{Scanner: jsonscan.New(data), top: top}
}

// object walks the members of an object as [jsonscan.Scanner.Object]
// does, keeping those of the outer object that native keeps.
func (s *scanner) object(known []string, member func(k int) bool) bool {
	if !s.top {
		return s.Object(known, member, nil)
	}
	s.top = false
	return s.Object(known, member, s.keep)
}

// keep records a member of the outer object for native: null is the
// same as absent, and a later member of one name replaces an earlier one.
func (s *scanner) keep(name, raw []byte) {
	if slices.Contains(known, string(name)) {
		return
	}
	jsonscan.Keep(&s.extra, name, raw)
}

// native returns what [native] would for the object just scanned.
func (s *scanner) native() *aiclient.Native {
	if len(s.extra) == 0 {
		return nil
	}
	return &aiclient.Native{Wire: aiclient.WireOpenAI, Fields: s.extra}
}
