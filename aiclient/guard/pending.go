package guard

import (
	"regexp"
	"regexp/syntax"
)

// StreamDetector is a [Detector] that can tell, in a text that goes on,
// where a value may have begun: the output rules of a stream pass on
// the text before that point at once and hold back only the rest, so a
// value never reaches the caller even in part. Every built-in detector
// is one; a Detector that is not has the whole streamed text held back
// until it ends.
type StreamDetector interface {
	Detector
	// Pending returns the least index i such that more text after s
	// could make a value that begins at or after i, or change one found
	// there; len(s) when none can. Values found before i are final.
	Pending(s string) int
}

// pendingRE returns an expression matching, at the end of a text, the
// tails that begin a match of re: the prefixes of its matches, with
// every empty-width assertion (\b, ^, $) taken as possibly true, so it
// holds back at least what re could still match. Its leftmost match
// is the earliest such tail.
func pendingRE(re *regexp.Regexp) *regexp.Regexp {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		// re compiled, so its text parses; hold everything if not.
		return regexp.MustCompile(`(?s:.*)\z`)
	}
	p := prefixes(tree.Simplify())
	return regexp.MustCompile(`(?:` + p.String() + `)\z`)
}

// prefixes returns an expression of the prefixes of re's matches,
// assertions dropped.
func prefixes(re *syntax.Regexp) *syntax.Regexp {
	empty := &syntax.Regexp{Op: syntax.OpEmptyMatch}
	switch re.Op {
	case syntax.OpNoMatch:
		return re
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return empty
	case syntax.OpLiteral:
		// a(b(c)?)?)? for "abc": each rune optional after the one before.
		var out *syntax.Regexp
		for i := len(re.Rune) - 1; i >= 0; i-- {
			lit := &syntax.Regexp{Op: syntax.OpLiteral, Flags: re.Flags, Rune: []rune{re.Rune[i]}}
			if out != nil {
				lit = concat(lit, out)
			}
			out = quest(lit)
		}
		if out == nil {
			return empty
		}
		return out
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return quest(assertionFree(re))
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		// Simplify leaves no Repeat; x* and x+ begin with any number of
		// whole x, then a prefix of one.
		sub := assertionFree(re.Sub[0])
		return concat(&syntax.Regexp{Op: syntax.OpStar, Flags: re.Flags, Sub: []*syntax.Regexp{sub}}, prefixes(re.Sub[0]))
	case syntax.OpQuest:
		return prefixes(re.Sub[0])
	case syntax.OpConcat:
		// prefixes(x y…) = prefixes(x) | x prefixes(y…)
		if len(re.Sub) == 1 {
			return prefixes(re.Sub[0])
		}
		rest := &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: re.Sub[1:]}
		return alternate(prefixes(re.Sub[0]), concat(assertionFree(re.Sub[0]), prefixes(rest)))
	case syntax.OpAlternate:
		subs := make([]*syntax.Regexp, len(re.Sub))
		for i, s := range re.Sub {
			subs[i] = prefixes(s)
		}
		return &syntax.Regexp{Op: syntax.OpAlternate, Sub: subs}
	}
	return &syntax.Regexp{Op: syntax.OpStar, Flags: syntax.DotNL, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
}

// assertionFree returns re with its empty-width assertions made always
// true, so a whole match before a tail is taken as possible.
func assertionFree(re *syntax.Regexp) *syntax.Regexp {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return &syntax.Regexp{Op: syntax.OpEmptyMatch}
	}
	if len(re.Sub) == 0 {
		return re
	}
	cp := *re
	cp.Sub = make([]*syntax.Regexp, len(re.Sub))
	for i, s := range re.Sub {
		cp.Sub[i] = assertionFree(s)
	}
	return &cp
}

func quest(re *syntax.Regexp) *syntax.Regexp {
	return &syntax.Regexp{Op: syntax.OpQuest, Sub: []*syntax.Regexp{re}}
}

func concat(a, b *syntax.Regexp) *syntax.Regexp {
	return &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{a, b}}
}

func alternate(a, b *syntax.Regexp) *syntax.Regexp {
	return &syntax.Regexp{Op: syntax.OpAlternate, Sub: []*syntax.Regexp{a, b}}
}

// pendingIndex returns the start of p's leftmost match in s, the
// earliest tail that may begin a value.
func pendingIndex(p *regexp.Regexp, s string) int {
	if m := p.FindStringIndex(s); m != nil {
		return m[0]
	}
	return len(s)
}
