package openapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// ErrNotFound is returned by [Spec.Find] when no path template matches.
var ErrNotFound = errors.New("portico/openapi: no operation matches the path")

// ErrMethodNotAllowed is matched (with errors.Is) by a [*MethodError].
var ErrMethodNotAllowed = errors.New("portico/openapi: method not allowed")

// MethodError is returned by [Spec.Find] when a path matches but the method
// does not. Allow lists the methods the path supports.
type MethodError struct {
	Allow []string
}

// Error implements error.
func (e *MethodError) Error() string {
	return "portico/openapi: method not allowed; the path supports " + strings.Join(e.Allow, ", ")
}

// Is reports whether target is [ErrMethodNotAllowed].
func (e *MethodError) Is(target error) bool { return target == ErrMethodNotAllowed }

// index is a tree of path segments: each lookup walks one node per segment,
// static children first, so its cost grows with the depth of the path and
// not with the number of operations.
type index struct {
	root *node
}

type node struct {
	static map[string]*node
	dyn    []*edge
	ops    map[string]*Operation
	allow  []string
}

type edge struct {
	seg   segment
	child *node
}

func newIndex() *index { return &index{root: &node{}} }

func (ix *index) add(t *pathTemplate, op *Operation) {
	n := ix.root
	for _, seg := range t.segs {
		if seg.static() {
			if n.static == nil {
				n.static = map[string]*node{}
			}
			next := n.static[seg.pieces[0].lit]
			if next == nil {
				next = &node{}
				n.static[seg.pieces[0].lit] = next
			}
			n = next
			continue
		}
		var next *node
		for _, e := range n.dyn {
			if e.seg.key == seg.key {
				next = e.child
				break
			}
		}
		if next == nil {
			next = &node{}
			n.dyn = append(n.dyn, &edge{seg: seg, child: next})
			// More literal text first: "{id}.json" is tried before "{id}".
			sort.SliceStable(n.dyn, func(i, j int) bool { return len(n.dyn[i].seg.key) > len(n.dyn[j].seg.key) })
		}
		n = next
	}
	if n.ops == nil {
		n.ops = map[string]*Operation{}
	}
	n.ops[op.Method] = op
	n.allow = append(n.allow, op.Method)
	slices.Sort(n.allow)
}

// lookup finds the node for an escaped path, appending the escaped
// parameter values to vals.
func (ix *index) lookup(path string, vals []string) (*node, []string) {
	if !strings.HasPrefix(path, "/") {
		return nil, vals
	}
	return ix.root.find(path[1:], vals)
}

func (n *node) find(path string, vals []string) (*node, []string) {
	seg, rest, more := strings.Cut(path, "/")
	next := n.static[seg]
	if next != nil {
		if !more {
			if next.ops != nil {
				return next, vals
			}
		} else if found, v := next.find(rest, vals); found != nil {
			return found, v
		}
	}
	for _, e := range n.dyn {
		v, ok := e.seg.match(seg, vals)
		if !ok {
			continue
		}
		if !more {
			if e.child.ops != nil {
				return e.child, v
			}
			continue
		}
		if found, v := e.child.find(rest, v); found != nil {
			return found, v
		}
	}
	return nil, vals
}

// find resolves method and escaped path to an operation, trying each
// server base path. vals receives the escaped path parameter values.
func (s *Spec) find(method, path string, vals []string) (*Operation, []string, error) {
	var allowed *node
	for _, base := range s.bases {
		p := path
		if base != "" {
			rest, ok := strings.CutPrefix(path, base)
			if !ok || (rest != "" && rest[0] != '/') {
				continue
			}
			p = rest
		}
		n, v := s.index.lookup(p, vals[:0])
		if n == nil {
			continue
		}
		if op := n.ops[method]; op != nil {
			return op, v, nil
		}
		if method == http.MethodHead {
			if op := n.ops[http.MethodGet]; op != nil {
				return op, v, nil
			}
		}
		if allowed == nil {
			allowed = n
		}
	}
	if allowed != nil {
		return nil, vals, &MethodError{Allow: allowed.allow}
	}
	return nil, vals, ErrNotFound
}

// Params holds the path parameters of a matched request, in the order of
// the path template. It is a value: looking an operation up allocates
// nothing for the first eight parameters.
type Params struct {
	names []string
	vals  [8]string
	extra []string
	n     int
}

func newParams(names, vals []string) Params {
	p := Params{names: names, n: len(vals)}
	copy(p.vals[:], vals)
	if len(vals) > len(p.vals) {
		p.extra = append([]string(nil), vals[len(p.vals):]...)
	}
	return p
}

// Len returns the number of parameters.
func (p Params) Len() int { return p.n }

// At returns the name and unescaped value of the i-th parameter.
func (p Params) At(i int) (name, value string) {
	var v string
	if i < len(p.vals) {
		v = p.vals[i]
	} else {
		v = p.extra[i-len(p.vals)]
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return p.names[i], v
}

// Get returns the unescaped value of the parameter name, or "".
func (p Params) Get(name string) string {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			_, v := p.At(i)
			return v
		}
	}
	return ""
}

// Map returns the parameters as a map of name to unescaped value.
func (p Params) Map() map[string]string {
	m := make(map[string]string, p.n)
	for i := 0; i < p.n; i++ {
		k, v := p.At(i)
		m[k] = v
	}
	return m
}

// Find returns the operation that serves method on the request path
// (escaped, as in [net/url.URL.EscapedPath]) and its path parameters. It
// returns [ErrNotFound] or a [*MethodError] otherwise. Paths may carry a
// server's base path ("/v1/pets" for a server "https://host/v1").
func (s *Spec) Find(method, path string) (*Operation, Params, error) {
	var buf [8]string
	op, vals, err := s.find(method, path, buf[:0])
	if err != nil {
		return nil, Params{}, err
	}
	return op, newParams(op.tmpl.names, vals), nil
}
