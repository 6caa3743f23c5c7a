package openapi

// ParseJSON exposes the body parser to the external tests.
var ParseJSON = parseJSON

// Replay exposes the body replay to the external tests.
var Replay = replay

// Engine runs both schema engines on one compiled schema.
type Engine struct {
	Where string
	Fast  func(v any) []Violation
	Full  func(v any) []Violation
}

// Engines returns, for every schema of s that the fast engine took, a way
// to run it on both engines, so tests can check they agree.
func Engines(s *Spec) (out []Engine, total int) {
	add := func(where string, c *check) {
		if c == nil {
			return
		}
		total++
		if c.fast == nil {
			return
		}
		fast := &check{fast: c.fast, notes: c.notes}
		full := &check{full: c.full, notes: c.notes}
		out = append(out, Engine{
			Where: where,
			Fast:  func(v any) []Violation { return fast.violations(v, "body", "") },
			Full:  func(v any) []Violation { return full.violations(v, "body", "") },
		})
	}
	for _, op := range s.ops {
		for _, p := range op.params {
			add(op.String()+" "+p.in+" "+p.name, p.compiled)
		}
		if op.body != nil {
			for _, m := range op.body.media {
				add(op.String()+" request "+m.typ, m.compiled)
			}
		}
		for code, r := range op.responses {
			for _, m := range r.media {
				add(op.String()+" "+code+" "+m.typ, m.compiled)
			}
		}
	}
	return out, total
}
