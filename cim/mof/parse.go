package mof

import (
	"strings"
)

// The parser turns tokens into a small syntax tree (this file); build.go
// turns the tree into cim classes and instances.

// maxDepth bounds the nesting of values (arrays and inline instances) so
// that hostile input cannot exhaust the stack.
const maxDepth = 32

type litKind uint8

const (
	litNull litKind = iota
	litString
	litChar
	litInt
	litReal
	litBool
	litArray
	litInstance
	litAlias
)

// lit is a literal value as written in MOF.
type lit struct {
	kind  litKind
	pos   pos
	text  string // string, char, int, real: the value; alias: the name
	b     bool
	items []*lit
	inst  *instanceAST
}

type qualifierAST struct {
	name  string
	value *lit // nil when written without a value (a true boolean)
	pos   pos
}

type paramAST struct {
	quals    []qualifierAST
	typeName string
	typePos  pos
	isRef    bool
	name     string
	array    bool
	pos      pos
}

type featureAST struct {
	quals    []qualifierAST
	typeName string // data type, or the referenced class when isRef
	typePos  pos
	isRef    bool
	name     string
	array    bool
	def      *lit
	method   bool
	params   []paramAST
	pos      pos
}

type classAST struct {
	quals    []qualifierAST
	name     string
	super    string
	features []featureAST
	pos      pos
}

type propAssign struct {
	name  string
	value *lit
	pos   pos
}

type instanceAST struct {
	className string
	alias     string
	props     []propAssign
	pos       pos
}

// fileAST is a parsed MOF file.
type fileAST struct {
	namespace string // last #pragma namespace, "" if none
	classes   []*classAST
	instances []*instanceAST
}

type parser struct {
	lx    *lexer
	tok   token
	depth int
}

func (p *parser) next() *ParseError {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(at pos, format string, args ...any) *ParseError {
	return p.lx.errorf(at, format, args...)
}

// expect consumes the punctuation or keyword s.
func (p *parser) expect(s string) *ParseError {
	if !p.tok.is(s) {
		return p.errorf(p.tok.pos, "expected %q, found %s", s, p.tok)
	}
	return p.next()
}

// ident consumes an identifier and returns it.
func (p *parser) ident(what string) (string, pos, *ParseError) {
	if p.tok.kind != tokIdent {
		return "", p.tok.pos, p.errorf(p.tok.pos, "expected %s, found %s", what, p.tok)
	}
	t := p.tok
	return t.text, t.pos, p.next()
}

// parseFile parses a whole MOF source.
func parseFile(file, src string) (*fileAST, *ParseError) {
	p := &parser{lx: newLexer(file, src)}
	if err := p.next(); err != nil {
		return nil, err
	}
	f := &fileAST{}
	for p.tok.kind != tokEOF {
		if err := p.production(f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (p *parser) production(f *fileAST) *ParseError {
	if p.tok.is("#") {
		return p.pragma(f)
	}
	if p.tok.is("qualifier") {
		return p.skipQualifierDecl()
	}
	var quals []qualifierAST
	if p.tok.is("[") {
		var err *ParseError
		if quals, err = p.qualifierList(); err != nil {
			return err
		}
	}
	switch {
	case p.tok.is("class"):
		c, err := p.class(quals)
		if err != nil {
			return err
		}
		f.classes = append(f.classes, c)
		return nil
	case p.tok.is("instance"):
		inst, err := p.instance()
		if err != nil {
			return err
		}
		f.instances = append(f.instances, inst)
		if p.tok.kind == tokEOF && len(f.instances) == 1 && len(f.classes) == 0 {
			// An embedded instance often omits the final ";".
			return nil
		}
		return p.expect(";")
	}
	return p.errorf(p.tok.pos, "expected class, instance, qualifier or #pragma, found %s", p.tok)
}

// pragma parses #pragma name("value"); only namespace has an effect.
func (p *parser) pragma(f *fileAST) *ParseError {
	at := p.tok.pos
	if err := p.next(); err != nil {
		return err
	}
	if !p.tok.is("pragma") {
		return p.errorf(at, "expected #pragma")
	}
	if err := p.next(); err != nil {
		return err
	}
	name, _, err := p.ident("pragma name")
	if err != nil {
		return err
	}
	if err := p.expect("("); err != nil {
		return err
	}
	if p.tok.kind != tokString {
		return p.errorf(p.tok.pos, "expected string argument of #pragma %s, found %s", name, p.tok)
	}
	if strings.EqualFold(name, "namespace") {
		f.namespace = strings.Trim(strings.ReplaceAll(p.tok.text, `\`, "/"), "/")
	}
	if err := p.next(); err != nil {
		return err
	}
	return p.expect(")")
}

// skipQualifierDecl skips "Qualifier Name : type = v, Scope(...), Flavor(...);".
// Qualifier semantics vsmig needs are built in (see cim.NewRegistry).
func (p *parser) skipQualifierDecl() *ParseError {
	at := p.tok.pos
	depth := 0
	for {
		if err := p.next(); err != nil {
			return err
		}
		switch {
		case p.tok.kind == tokEOF:
			return p.errorf(at, "unterminated qualifier declaration")
		case p.tok.is("(") || p.tok.is("{"):
			depth++
		case p.tok.is(")") || p.tok.is("}"):
			depth--
		case p.tok.is(";") && depth <= 0:
			return p.next()
		}
	}
}

// qualifierList parses [Name, Name(value), Name{a, b} : Flavor, ...].
func (p *parser) qualifierList() ([]qualifierAST, *ParseError) {
	if err := p.expect("["); err != nil {
		return nil, err
	}
	var qs []qualifierAST
	for {
		name, at, err := p.ident("qualifier name")
		if err != nil {
			return nil, err
		}
		q := qualifierAST{name: name, pos: at}
		switch {
		case p.tok.is("("):
			if err := p.next(); err != nil {
				return nil, err
			}
			if q.value, err = p.value(); err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		case p.tok.is("{"):
			if q.value, err = p.value(); err != nil {
				return nil, err
			}
		}
		if p.tok.is(":") { // MOF 2 flavor list, e.g. ": ToSubclass Translatable"
			if err := p.next(); err != nil {
				return nil, err
			}
			for p.tok.kind == tokIdent {
				if err := p.next(); err != nil {
					return nil, err
				}
			}
		}
		for _, prev := range qs {
			if strings.EqualFold(prev.name, q.name) {
				return nil, p.errorf(at, "duplicate qualifier %s", q.name)
			}
		}
		qs = append(qs, q)
		if p.tok.is("]") {
			return qs, p.next()
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
}

// value parses a literal: strings (adjacent ones concatenated), numbers,
// chars, true/false/null, $alias, {array} or an inline instance.
func (p *parser) value() (*lit, *ParseError) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errorf(p.tok.pos, "values nested too deeply")
	}
	t := p.tok
	l := &lit{pos: t.pos}
	switch {
	case t.kind == tokString:
		var b strings.Builder
		for p.tok.kind == tokString {
			b.WriteString(p.tok.text)
			if err := p.next(); err != nil {
				return nil, err
			}
		}
		l.kind, l.text = litString, b.String()
		return l, nil
	case t.kind == tokChar:
		l.kind, l.text = litChar, t.text
	case t.kind == tokInt:
		l.kind, l.text = litInt, t.text
	case t.kind == tokReal:
		l.kind, l.text = litReal, t.text
	case t.kind == tokAlias:
		l.kind, l.text = litAlias, t.text
	case t.is("true"), t.is("false"):
		l.kind, l.b = litBool, t.is("true")
	case t.is("null"):
		l.kind = litNull
	case t.is("instance"):
		inst, err := p.instance()
		if err != nil {
			return nil, err
		}
		l.kind, l.inst = litInstance, inst
		return l, nil
	case t.is("{"):
		l.kind = litArray
		if err := p.next(); err != nil {
			return nil, err
		}
		for !p.tok.is("}") {
			item, err := p.value()
			if err != nil {
				return nil, err
			}
			if item.kind == litArray {
				return nil, p.errorf(item.pos, "arrays of arrays are not allowed")
			}
			l.items = append(l.items, item)
			if p.tok.is("}") {
				break
			}
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
	default:
		return nil, p.errorf(t.pos, "expected a value, found %s", t)
	}
	return l, p.next()
}

// class parses "class Name [: Super] { features };".
func (p *parser) class(quals []qualifierAST) (*classAST, *ParseError) {
	c := &classAST{quals: quals, pos: p.tok.pos}
	if err := p.next(); err != nil {
		return nil, err
	}
	var err *ParseError
	if c.name, _, err = p.ident("class name"); err != nil {
		return nil, err
	}
	if p.tok.is(":") {
		if err := p.next(); err != nil {
			return nil, err
		}
		if c.super, _, err = p.ident("superclass name"); err != nil {
			return nil, err
		}
	}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	for !p.tok.is("}") {
		f, err := p.feature()
		if err != nil {
			return nil, err
		}
		c.features = append(c.features, f)
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	return c, p.expect(";")
}

// feature parses a property, reference or method declaration.
func (p *parser) feature() (featureAST, *ParseError) {
	var f featureAST
	var err *ParseError
	if p.tok.is("[") {
		if f.quals, err = p.qualifierList(); err != nil {
			return f, err
		}
	}
	if f.typeName, f.typePos, err = p.ident("data type or class name"); err != nil {
		return f, err
	}
	if p.tok.is("ref") {
		f.isRef = true
		if err := p.next(); err != nil {
			return f, err
		}
	}
	if f.name, f.pos, err = p.ident("property or method name"); err != nil {
		return f, err
	}
	if p.tok.is("(") {
		f.method = true
		if err := p.next(); err != nil {
			return f, err
		}
		for !p.tok.is(")") {
			prm, err := p.param()
			if err != nil {
				return f, err
			}
			f.params = append(f.params, prm)
			if p.tok.is(")") {
				break
			}
			if err := p.expect(","); err != nil {
				return f, err
			}
		}
		if err := p.next(); err != nil {
			return f, err
		}
		return f, p.expect(";")
	}
	if f.array, err = p.arraySuffix(); err != nil {
		return f, err
	}
	if p.tok.is("=") {
		if err := p.next(); err != nil {
			return f, err
		}
		if f.def, err = p.value(); err != nil {
			return f, err
		}
	}
	return f, p.expect(";")
}

// arraySuffix parses an optional "[]" or "[n]".
func (p *parser) arraySuffix() (bool, *ParseError) {
	if !p.tok.is("[") {
		return false, nil
	}
	if err := p.next(); err != nil {
		return false, err
	}
	if p.tok.kind == tokInt {
		if err := p.next(); err != nil {
			return false, err
		}
	}
	return true, p.expect("]")
}

func (p *parser) param() (paramAST, *ParseError) {
	var prm paramAST
	var err *ParseError
	if p.tok.is("[") {
		if prm.quals, err = p.qualifierList(); err != nil {
			return prm, err
		}
	}
	if prm.typeName, prm.typePos, err = p.ident("parameter type"); err != nil {
		return prm, err
	}
	if p.tok.is("ref") {
		prm.isRef = true
		if err := p.next(); err != nil {
			return prm, err
		}
	}
	if prm.name, prm.pos, err = p.ident("parameter name"); err != nil {
		return prm, err
	}
	if prm.array, err = p.arraySuffix(); err != nil {
		return prm, err
	}
	if p.tok.is("=") { // parameter default values: accepted, ignored
		if err := p.next(); err != nil {
			return prm, err
		}
		if _, err := p.value(); err != nil {
			return prm, err
		}
	}
	return prm, nil
}

// instance parses "instance of Class [as $Alias] { Prop = value; ... }"
// without the trailing ";" (an inline instance value has none).
func (p *parser) instance() (*instanceAST, *ParseError) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errorf(p.tok.pos, "instances nested too deeply")
	}
	inst := &instanceAST{pos: p.tok.pos}
	if err := p.next(); err != nil {
		return nil, err
	}
	if err := p.expect("of"); err != nil {
		return nil, err
	}
	var err *ParseError
	if inst.className, _, err = p.ident("class name"); err != nil {
		return nil, err
	}
	if p.tok.is("as") {
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokAlias {
			return nil, p.errorf(p.tok.pos, "expected $alias after 'as', found %s", p.tok)
		}
		inst.alias = p.tok.text
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	for !p.tok.is("}") {
		if p.tok.is("[") { // qualifiers on instance properties: accepted, ignored
			if _, err := p.qualifierList(); err != nil {
				return nil, err
			}
		}
		var a propAssign
		if a.name, a.pos, err = p.ident("property name"); err != nil {
			return nil, err
		}
		if err := p.expect("="); err != nil {
			return nil, err
		}
		if a.value, err = p.value(); err != nil {
			return nil, err
		}
		if err := p.expect(";"); err != nil {
			return nil, err
		}
		inst.props = append(inst.props, a)
	}
	return inst, p.next()
}
