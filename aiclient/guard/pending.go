package guard

import (
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
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

// pending finds, at the end of a text, the earliest tail that begins a
// match of an expression: a prefix of one of its matches, with every
// empty-width assertion (\b, ^, $) taken as possibly true, so it holds
// back at least what the expression could still match.
//
// Such a tail is made only of bytes that occur in the expression's
// matches (alpha) and begins with one that can begin one (first), so
// only the positions of the text's last run of such bytes are tried, each
// with one anchored match: a word or two of prose, not the whole text.
type pending struct {
	prefix       *regexp.Regexp // ^(?:prefixes)\z
	alpha, first [256]bool
}

// newPending returns the pending tails of re.
func newPending(re *regexp.Regexp) *pending {
	p := &pending{}
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		// re compiled, so its text parses; hold everything if not.
		p.prefix = regexp.MustCompile(`^(?s:.*)\z`)
		for i := range p.alpha {
			p.alpha[i], p.first[i] = true, true
		}
		return p
	}
	tree = tree.Simplify()
	p.prefix = regexp.MustCompile(`^(?:` + prefixes(tree).String() + `)\z`)
	bytesOf(tree, &p.alpha)
	firstBytes(tree, &p.first)
	return p
}

// index returns the start of the earliest tail of s that begins a match,
// or len(s).
func (p *pending) index(s string) int {
	j := len(s)
	for j > 0 && p.alpha[s[j-1]] {
		j--
	}
	for i := j; i < len(s); i++ {
		if p.first[s[i]] && p.prefix.MatchString(s[i:]) {
			return i
		}
	}
	return len(s)
}

// addRunes marks in set the bytes of the runes lo to hi (and their other
// cases with fold): ASCII ones one by one, and every byte of a multi-byte
// encoding for the others.
func addRunes(set *[256]bool, lo, hi rune, fold bool) {
	if hi >= utf8.RuneSelf {
		for b := utf8.RuneSelf; b < 256; b++ {
			set[b] = true
		}
	}
	for r := lo; r <= min(hi, utf8.RuneSelf-1); r++ {
		set[r] = true
		if fold {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				addRunes(set, f, f, false)
			}
		}
	}
}

// bytesOf marks the bytes that occur in re's matches.
func bytesOf(re *syntax.Regexp, set *[256]bool) {
	fold := re.Flags&syntax.FoldCase != 0
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			addRunes(set, r, r, fold)
		}
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			addRunes(set, re.Rune[i], re.Rune[i+1], false)
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		addRunes(set, 0, unicode.MaxRune, false)
	}
	for _, sub := range re.Sub {
		bytesOf(sub, set)
	}
}

// firstBytes marks the bytes a non-empty match of re can begin with, and
// reports whether re matches the empty string.
func firstBytes(re *syntax.Regexp, set *[256]bool) (nullable bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		addRunes(set, re.Rune[0], re.Rune[0], re.Flags&syntax.FoldCase != 0)
		return false
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		bytesOf(re, set)
		return false
	case syntax.OpNoMatch:
		return false
	case syntax.OpCapture:
		return firstBytes(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		firstBytes(re.Sub[0], set)
		return true
	case syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpRepeat:
		return firstBytes(re.Sub[0], set) || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !firstBytes(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if firstBytes(sub, set) {
				nullable = true
			}
		}
		return nullable
	}
	return true // empty matches and assertions
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
