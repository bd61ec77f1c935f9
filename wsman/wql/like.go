package wql

import (
	"unicode"
	"unicode/utf8"
)

func toLower(r rune) rune { return unicode.ToLower(r) }

// likeElem is one element of a compiled LIKE pattern.
type likeElem struct {
	kind   byte // '%' any run, '_' any one, 'c' literal rune, '[' set
	r      rune
	negate bool
	ranges [][2]rune // for '[': inclusive ranges, lower-cased
}

// compileLike turns a WQL LIKE pattern into elements. A '[' without a
// closing ']' is a literal '['. Consecutive '%' collapse into one.
func compileLike(p string) []likeElem {
	var out []likeElem
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '%':
			if len(out) == 0 || out[len(out)-1].kind != '%' {
				out = append(out, likeElem{kind: '%'})
			}
		case '_':
			out = append(out, likeElem{kind: '_'})
		case '[':
			end := -1
			for j := i + 2; j < len(rs); j++ { // a ']' right after '[' is a member
				if rs[j] == ']' {
					end = j
					break
				}
			}
			if end < 0 {
				out = append(out, likeElem{kind: 'c', r: '['})
				continue
			}
			e := likeElem{kind: '['}
			body := rs[i+1 : end]
			if len(body) > 0 && body[0] == '^' && len(body) > 1 {
				e.negate = true
				body = body[1:]
			}
			for k := 0; k < len(body); k++ {
				lo := toLower(body[k])
				hi := lo
				if k+2 < len(body) && body[k+1] == '-' {
					hi = toLower(body[k+2])
					k += 2
				}
				if hi < lo {
					lo, hi = hi, lo
				}
				e.ranges = append(e.ranges, [2]rune{lo, hi})
			}
			out = append(out, e)
			i = end
		default:
			out = append(out, likeElem{kind: 'c', r: toLower(r)})
		}
	}
	return out
}

func (e likeElem) matchOne(r rune) bool {
	switch e.kind {
	case '_':
		return true
	case 'c':
		return e.r == r
	case '[':
		in := false
		for _, rg := range e.ranges {
			if rg[0] <= r && r <= rg[1] {
				in = true
				break
			}
		}
		return in != e.negate
	}
	return false
}

// like reports whether s matches the LIKE pattern, case-insensitively. It
// runs in O(len(s)*len(pattern)) time: on a mismatch it backtracks only to
// the most recent '%'.
func like(s, pattern string) bool {
	elems := compileLike(pattern)
	text := make([]rune, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		text = append(text, toLower(r))
	}
	ti, pi := 0, 0
	starP, starT := -1, 0
	for ti < len(text) {
		switch {
		case pi < len(elems) && elems[pi].kind == '%':
			starP, starT = pi, ti
			pi++
		case pi < len(elems) && elems[pi].matchOne(text[ti]):
			pi++
			ti++
		case starP >= 0:
			starT++
			ti = starT
			pi = starP + 1
		default:
			return false
		}
	}
	for pi < len(elems) && elems[pi].kind == '%' {
		pi++
	}
	return pi == len(elems)
}
