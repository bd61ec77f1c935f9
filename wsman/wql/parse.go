package wql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits on untrusted input. A filter longer than MaxQueryLength or nested
// deeper than MaxDepth is rejected with a SyntaxError.
const (
	MaxQueryLength = 64 << 10
	MaxDepth       = 64
)

// SyntaxError reports a query that does not parse. Offset is the byte
// offset in the query text where the problem was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("wql: syntax error at offset %d: %s", e.Offset, e.Msg)
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tKeyword // Text holds the upper-case keyword
	tString
	tNumber // Text holds the literal as written, without sign
	tOp     // Text holds the operator
	tLParen
	tRParen
	tComma
	tStar
	tMinus
)

type token struct {
	kind tokKind
	text string
	off  int
}

var keywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true,
	"NOT": true, "IS": true, "NULL": true, "LIKE": true, "ISA": true,
	"TRUE": true, "FALSE": true,
}

// lexer splits a query into tokens.
type lexer struct {
	src string
	pos int
}

func (lx *lexer) errorf(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// identEnd returns where the identifier continuing at i in src ends. A
// dot followed by a letter continues it: a property of an embedded object,
// as WMI event queries write it (SourceInstance.JobState).
func identEnd(src string, i int) int {
	for i < len(src) {
		c := src[i]
		if !isIdentStart(c) && !isDigit(c) && !(c == '.' && i+1 < len(src) && isIdentStart(src[i+1])) {
			break
		}
		i++
	}
	return i
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (lx *lexer) next() (token, error) {
	for lx.pos < len(lx.src) {
		switch lx.src[lx.pos] {
		case ' ', '\t', '\r', '\n', '\f', '\v':
			lx.pos++
			continue
		}
		break
	}
	start := lx.pos
	if start >= len(lx.src) {
		return token{kind: tEOF, off: start}, nil
	}
	c := lx.src[start]
	switch {
	case isIdentStart(c):
		i := identEnd(lx.src, start+1)
		lx.pos = i
		word := lx.src[start:i]
		if up := strings.ToUpper(word); keywords[up] {
			return token{kind: tKeyword, text: up, off: start}, nil
		}
		return token{kind: tIdent, text: word, off: start}, nil
	case isDigit(c) || c == '.' && start+1 < len(lx.src) && isDigit(lx.src[start+1]):
		return lx.number()
	case c == '\'' || c == '"':
		return lx.str(c)
	}
	lx.pos++
	switch c {
	case '(':
		return token{kind: tLParen, text: "(", off: start}, nil
	case ')':
		return token{kind: tRParen, text: ")", off: start}, nil
	case ',':
		return token{kind: tComma, text: ",", off: start}, nil
	case '*':
		return token{kind: tStar, text: "*", off: start}, nil
	case '-':
		return token{kind: tMinus, text: "-", off: start}, nil
	case '=':
		return token{kind: tOp, text: "=", off: start}, nil
	case '!':
		if lx.pos < len(lx.src) && lx.src[lx.pos] == '=' {
			lx.pos++
			return token{kind: tOp, text: "<>", off: start}, nil
		}
	case '<':
		if lx.pos < len(lx.src) && (lx.src[lx.pos] == '=' || lx.src[lx.pos] == '>') {
			lx.pos++
			return token{kind: tOp, text: lx.src[start:lx.pos], off: start}, nil
		}
		return token{kind: tOp, text: "<", off: start}, nil
	case '>':
		if lx.pos < len(lx.src) && lx.src[lx.pos] == '=' {
			lx.pos++
			return token{kind: tOp, text: ">=", off: start}, nil
		}
		return token{kind: tOp, text: ">", off: start}, nil
	}
	return token{}, lx.errorf(start, "unexpected character %q", c)
}

// number scans 123, 0x1F, 1.5, .5, 1e-3.
func (lx *lexer) number() (token, error) {
	start := lx.pos
	s := lx.src
	i := start
	if s[i] == '0' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') {
		i += 2
		j := i
		for i < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[i]) >= 0 {
			i++
		}
		if i == j {
			return token{}, lx.errorf(start, "hexadecimal literal without digits")
		}
	} else {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '.' {
			i++
			for i < len(s) && isDigit(s[i]) {
				i++
			}
		}
		if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
			i++
			if i < len(s) && (s[i] == '+' || s[i] == '-') {
				i++
			}
			j := i
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			if i == j {
				return token{}, lx.errorf(start, "exponent without digits")
			}
		}
	}
	if i < len(s) && (isIdentStart(s[i]) || isDigit(s[i]) || s[i] == '.') {
		return token{}, lx.errorf(i, "malformed number")
	}
	lx.pos = i
	return token{kind: tNumber, text: s[start:i], off: start}, nil
}

// str scans a string quoted with q. Inside, a backslash escapes the next
// character (\\, \', \"; \n, \t and \r name control characters) and a
// doubled quote stands for one quote, as in SQL.
func (lx *lexer) str(q byte) (token, error) {
	start := lx.pos
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(lx.src) {
			return token{}, lx.errorf(start, "unterminated string")
		}
		c := lx.src[i]
		switch {
		case c == '\\':
			if i+1 >= len(lx.src) {
				return token{}, lx.errorf(start, "unterminated string")
			}
			e := lx.src[i+1]
			switch e {
			case 'n':
				e = '\n'
			case 't':
				e = '\t'
			case 'r':
				e = '\r'
			}
			b.WriteByte(e)
			i += 2
		case c == q:
			if i+1 < len(lx.src) && lx.src[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			lx.pos = i + 1
			return token{kind: tString, text: b.String(), off: start}, nil
		default:
			b.WriteByte(c)
			i++
		}
	}
}

// parser is a recursive-descent parser over the lexer with one token of
// lookahead.
//
//	query   = SELECT ( "*" | ident { "," ident } ) FROM ident [ WHERE or ] EOF
//	or      = and { OR and }
//	and     = unary { AND unary }
//	unary   = NOT unary | "(" or ")" | pred
//	pred    = ident op literal | literal op ident
//	        | ident IS [NOT] NULL | ident [NOT] LIKE string | ident ISA string
type parser struct {
	lx    lexer
	tok   token
	depth int
}

// Parse parses a WQL SELECT statement. Keywords and the operator spellings
// are case-insensitive; property and class names keep the case in which
// they were written (they are matched case-insensitively later).
func Parse(s string) (*Query, error) {
	if len(s) > MaxQueryLength {
		return nil, &SyntaxError{Offset: MaxQueryLength, Msg: "query too long"}
	}
	p := &parser{lx: lexer{src: s}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return p.query()
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.tok.off, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) describe() string {
	switch p.tok.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "string " + quote(p.tok.text)
	}
	return strconv.Quote(p.tok.text)
}

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tKeyword && p.tok.text == kw
}

func (p *parser) expectKeyword(kw string) error {
	if !p.isKeyword(kw) {
		return p.errorf("expected %s, found %s", kw, p.describe())
	}
	return p.advance()
}

func (p *parser) ident(what string) (string, error) {
	if p.tok.kind != tIdent {
		return "", p.errorf("expected %s, found %s", what, p.describe())
	}
	name := p.tok.text
	return name, p.advance()
}

func (p *parser) query() (*Query, error) {
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	q := &Query{}
	if p.tok.kind == tStar {
		if err := p.advance(); err != nil {
			return nil, err
		}
	} else {
		q.Properties = []string{}
		for {
			name, err := p.ident("property name or *")
			if err != nil {
				return nil, err
			}
			q.Properties = append(q.Properties, name)
			if p.tok.kind != tComma {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	class, err := p.ident("class name")
	if err != nil {
		return nil, err
	}
	q.Class = class
	if p.isKeyword("WHERE") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if q.Where, err = p.or(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %s", p.describe())
	}
	return q, nil
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Or{L: l, R: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &And{L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return nil, p.errorf("condition nested too deeply")
	}
	switch {
	case p.isKeyword("NOT"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	case p.tok.kind == tLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errorf("expected ), found %s", p.describe())
		}
		return x, p.advance()
	}
	return p.predicate()
}

func (p *parser) op() (Op, error) {
	if p.tok.kind != tOp {
		return 0, p.errorf("expected comparison operator, found %s", p.describe())
	}
	var op Op
	switch p.tok.text {
	case "=":
		op = OpEq
	case "<>":
		op = OpNe
	case "<":
		op = OpLt
	case "<=":
		op = OpLe
	case ">":
		op = OpGt
	case ">=":
		op = OpGe
	}
	return op, p.advance()
}

func (p *parser) predicate() (Expr, error) {
	switch p.tok.kind {
	case tString, tNumber, tMinus, tKeyword, tIdent:
		if p.tok.kind == tKeyword && p.tok.text != "TRUE" && p.tok.text != "FALSE" && p.tok.text != "NULL" {
			return nil, p.errorf("expected a condition, found %s", p.describe())
		}
	default:
		return nil, p.errorf("expected a condition, found %s", p.describe())
	}
	if p.tok.kind != tIdent {
		// literal op ident
		litOff := p.tok.off
		lit, isNull, err := p.literal()
		if err != nil {
			return nil, err
		}
		op, err := p.op()
		if err != nil {
			return nil, err
		}
		name, err := p.ident("property name")
		if err != nil {
			return nil, err
		}
		return compare(name, op.flip(), lit, isNull, litOff)
	}
	name := p.tok.text
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch {
	case p.isKeyword("IS"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		not := false
		if p.isKeyword("NOT") {
			not = true
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if err := p.expectKeyword("NULL"); err != nil {
			return nil, err
		}
		return &IsNull{Property: name, Not: not}, nil
	case p.isKeyword("NOT"), p.isKeyword("LIKE"):
		not := p.isKeyword("NOT")
		if not {
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if err := p.expectKeyword("LIKE"); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.errorf("expected pattern string after LIKE, found %s", p.describe())
		}
		pat := p.tok.text
		return &Like{Property: name, Pattern: pat, Not: not}, p.advance()
	case p.isKeyword("ISA"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tString && p.tok.kind != tIdent {
			return nil, p.errorf("expected class name after ISA, found %s", p.describe())
		}
		class := p.tok.text
		return &IsA{Property: name, Class: class}, p.advance()
	}
	op, err := p.op()
	if err != nil {
		return nil, err
	}
	litOff := p.tok.off
	lit, isNull, err := p.literal()
	if err != nil {
		return nil, err
	}
	return compare(name, op, lit, isNull, litOff)
}

// compare builds a comparison; off is the offset of the literal, for errors.
func compare(name string, op Op, lit Literal, isNull bool, off int) (Expr, error) {
	if isNull {
		switch op {
		case OpEq:
			return &IsNull{Property: name}, nil
		case OpNe:
			return &IsNull{Property: name, Not: true}, nil
		}
		return nil, &SyntaxError{Offset: off, Msg: "NULL can only be compared with = or <>"}
	}
	return &Compare{Property: name, Op: op, Value: lit}, nil
}

// literal parses a constant; isNull reports the NULL keyword.
func (p *parser) literal() (lit Literal, isNull bool, err error) {
	t := p.tok
	switch {
	case t.kind == tString:
		lit = Literal{Kind: KindString, Str: t.text}
	case t.kind == tKeyword && (t.text == "TRUE" || t.text == "FALSE"):
		lit = Literal{Kind: KindBool, Bool: t.text == "TRUE"}
	case t.kind == tKeyword && t.text == "NULL":
		isNull = true
	case t.kind == tMinus:
		if err := p.advance(); err != nil {
			return lit, false, err
		}
		if p.tok.kind != tNumber {
			return lit, false, p.errorf("expected number after -, found %s", p.describe())
		}
		lit, err = numberLiteral(p.tok, true)
		if err != nil {
			return lit, false, err
		}
	case t.kind == tNumber:
		lit, err = numberLiteral(t, false)
		if err != nil {
			return lit, false, err
		}
	default:
		return lit, false, p.errorf("expected a constant, found %s", p.describe())
	}
	return lit, isNull, p.advance()
}

func numberLiteral(t token, neg bool) (Literal, error) {
	s := t.text
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return Literal{}, &SyntaxError{Offset: t.off, Msg: "integer out of range"}
		}
		return intLiteral(neg, u, t)
	}
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return Literal{}, &SyntaxError{Offset: t.off, Msg: "real out of range"}
		}
		if neg {
			f = -f
		}
		if f == 0 {
			f = 0 // no negative zero
		}
		return Literal{Kind: KindReal, Real: f}, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Literal{}, &SyntaxError{Offset: t.off, Msg: "integer out of range"}
	}
	return intLiteral(neg, u, t)
}

func intLiteral(neg bool, u uint64, t token) (Literal, error) {
	if u == 0 {
		neg = false
	}
	if neg && u > 1<<63 {
		return Literal{}, &SyntaxError{Offset: t.off, Msg: "integer out of range"}
	}
	return Literal{Kind: KindInt, Neg: neg, Mag: u}, nil
}
