package mof

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError is a syntax or type error in MOF text, located by file name
// (empty for an embedded instance), 1-based line and 1-based byte column.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	file := e.File
	if file == "" {
		file = "mof"
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, e.Line, e.Col, e.Msg)
}

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString // text holds the unescaped value
	tokChar   // text holds the one character
	tokInt    // text holds the literal as written
	tokReal
	tokAlias // $name; text holds name
	tokPunct // text holds the single character
)

// pos is a location in the source.
type pos struct{ line, col int }

type token struct {
	kind tokKind
	text string
	pos  pos
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokString:
		return strconv.Quote(t.text)
	case tokAlias:
		return "$" + t.text
	}
	return strconv.Quote(t.text)
}

// is reports whether t is the punctuation or keyword s (keywords are
// case-insensitive).
func (t token) is(s string) bool {
	switch t.kind {
	case tokPunct:
		return t.text == s
	case tokIdent:
		return strings.EqualFold(t.text, s)
	}
	return false
}

// lexer splits MOF source into tokens. It never panics on any input.
type lexer struct {
	file string
	src  string
	off  int
	line int
	col  int // column of src[off]
}

func newLexer(file, src string) *lexer {
	return &lexer{file: file, src: src, line: 1, col: 1}
}

func (l *lexer) errorf(p pos, format string, args ...any) *ParseError {
	return &ParseError{File: l.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) peekByte(ahead int) byte {
	if l.off+ahead < len(l.src) {
		return l.src[l.off+ahead]
	}
	return 0
}

// advance consumes n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	for ; n > 0 && l.off < len(l.src); n-- {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() *ParseError {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance(1)
		case c == 0xEF && strings.HasPrefix(l.src[l.off:], "\uFEFF"):
			l.advance(3) // byte order mark
		case c == '/' && l.peekByte(1) == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		case c == '/' && l.peekByte(1) == '*':
			start := pos{l.line, l.col}
			end := strings.Index(l.src[l.off+2:], "*/")
			if end < 0 {
				return l.errorf(start, "unterminated comment")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token.
func (l *lexer) next() (token, *ParseError) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := pos{l.line, l.col}
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case isIdentStart(c):
		n := 1
		for l.off+n < len(l.src) && isIdentPart(l.src[l.off+n]) {
			n++
		}
		t := token{kind: tokIdent, text: l.src[l.off : l.off+n], pos: p}
		l.advance(n)
		return t, nil
	case c == '"':
		return l.lexString(p)
	case c == '\'':
		return l.lexChar(p)
	case c >= '0' && c <= '9', (c == '-' || c == '+' || c == '.') && isDigit(l.peekByte(1)),
		(c == '-' || c == '+') && l.peekByte(1) == '.' && isDigit(l.peekByte(2)):
		return l.lexNumber(p)
	case c == '$':
		n := 1
		for l.off+n < len(l.src) && isIdentPart(l.src[l.off+n]) {
			n++
		}
		if n == 1 {
			return token{}, l.errorf(p, "'$' without alias name")
		}
		t := token{kind: tokAlias, text: l.src[l.off+1 : l.off+n], pos: p}
		l.advance(n)
		return t, nil
	case strings.IndexByte("{}[]();,:=#", c) >= 0:
		l.advance(1)
		return token{kind: tokPunct, text: string(c), pos: p}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return token{}, l.errorf(p, "unexpected character %q", r)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func (l *lexer) lexNumber(p pos) (token, *ParseError) {
	n := 0
	if c := l.src[l.off]; c == '-' || c == '+' {
		n++
	}
	for l.off+n < len(l.src) {
		c := l.src[l.off+n]
		if !isIdentPart(c) && c != '.' {
			break
		}
		n++
		if (c == 'e' || c == 'E') && !isHexLiteral(l.src[l.off:l.off+n]) && l.off+n < len(l.src) &&
			(l.src[l.off+n] == '-' || l.src[l.off+n] == '+') {
			n++
		}
	}
	text := l.src[l.off : l.off+n]
	l.advance(n)
	if !isHexLiteral(text) && strings.ContainsAny(text, ".eE") {
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return token{}, l.errorf(p, "invalid real number %q", text)
		}
		return token{kind: tokReal, text: text, pos: p}, nil
	}
	if _, _, err := parseIntLiteral(text); err != nil {
		return token{}, l.errorf(p, "invalid integer %q", text)
	}
	return token{kind: tokInt, text: text, pos: p}, nil
}

func isHexLiteral(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

// parseIntLiteral parses a MOF integer literal (decimal, 0x hex, binary
// with a b suffix, octal with a leading 0) into a sign and magnitude.
func parseIntLiteral(s string) (neg bool, mag uint64, err error) {
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	switch {
	case isHexLiteral(s):
		mag, err = strconv.ParseUint(s[2:], 16, 64)
	case len(s) > 1 && (s[len(s)-1] == 'b' || s[len(s)-1] == 'B'):
		mag, err = strconv.ParseUint(s[:len(s)-1], 2, 64)
	case len(s) > 1 && s[0] == '0':
		mag, err = strconv.ParseUint(s[1:], 8, 64)
	case s != "" && isDigit(s[0]):
		mag, err = strconv.ParseUint(s, 10, 64)
	default:
		err = strconv.ErrSyntax
	}
	return neg, mag, err
}

// lexString reads a double-quoted string with DSP0221 escapes.
func (l *lexer) lexString(p pos) (token, *ParseError) {
	l.advance(1)
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{}, l.errorf(p, "unterminated string")
		}
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance(1)
			return token{kind: tokString, text: b.String(), pos: p}, nil
		case '\n':
			return token{}, l.errorf(p, "newline in string")
		case '\\':
			r, err := l.escape()
			if err != nil {
				return token{}, err
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
			l.advance(1)
		}
	}
}

// lexChar reads a single-quoted char16 literal.
func (l *lexer) lexChar(p pos) (token, *ParseError) {
	l.advance(1)
	var r rune
	if l.off < len(l.src) && l.src[l.off] == '\\' {
		var err *ParseError
		if r, err = l.escape(); err != nil {
			return token{}, err
		}
	} else if l.off < len(l.src) && l.src[l.off] != '\'' && l.src[l.off] != '\n' {
		var n int
		r, n = utf8.DecodeRuneInString(l.src[l.off:])
		l.advance(n)
	} else {
		return token{}, l.errorf(p, "empty char literal")
	}
	if l.off >= len(l.src) || l.src[l.off] != '\'' {
		return token{}, l.errorf(p, "unterminated char literal")
	}
	l.advance(1)
	return token{kind: tokChar, text: string(r), pos: p}, nil
}

// escape reads one backslash escape sequence.
func (l *lexer) escape() (rune, *ParseError) {
	p := pos{l.line, l.col}
	l.advance(1)
	if l.off >= len(l.src) {
		return 0, l.errorf(p, "unterminated escape")
	}
	c := l.src[l.off]
	l.advance(1)
	switch c {
	case 'b':
		return '\b', nil
	case 't':
		return '\t', nil
	case 'n':
		return '\n', nil
	case 'f':
		return '\f', nil
	case 'r':
		return '\r', nil
	case '"', '\'', '\\':
		return rune(c), nil
	case 'x', 'X':
		n := 0
		for n < 4 && l.off+n < len(l.src) && strings.IndexByte("0123456789abcdefABCDEF", l.src[l.off+n]) >= 0 {
			n++
		}
		if n == 0 {
			return 0, l.errorf(p, "\\x escape without hex digits")
		}
		v, _ := strconv.ParseUint(l.src[l.off:l.off+n], 16, 32)
		l.advance(n)
		if !utf8.ValidRune(rune(v)) {
			return 0, l.errorf(p, "\\x escape is not a valid character")
		}
		return rune(v), nil
	}
	return 0, l.errorf(p, "unknown escape \\%c", c)
}
