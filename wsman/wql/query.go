package wql

import (
	"strconv"
	"strings"
)

// Query is a parsed WQL SELECT statement.
type Query struct {
	// Properties lists the selected properties; nil means "*".
	Properties []string
	// Class is the class named in FROM.
	Class string
	// Where is the condition, nil when there is no WHERE clause.
	Where Expr
}

// Expr is a node of a WHERE condition: *And, *Or, *Not, *Compare, *IsNull,
// *Like or *IsA.
type Expr interface{ expr() }

// And is "L AND R".
type And struct{ L, R Expr }

// Or is "L OR R".
type Or struct{ L, R Expr }

// Not is "NOT X".
type Not struct{ X Expr }

// Op is a comparison operator.
type Op uint8

const (
	OpEq Op = iota // =
	OpNe           // <> (also written !=)
	OpLt           // <
	OpLe           // <=
	OpGt           // >
	OpGe           // >=
)

var opNames = [...]string{OpEq: "=", OpNe: "<>", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

// flip returns the operator that gives the same result with the operands
// swapped ("5 < X" is "X > 5").
func (o Op) flip() Op {
	switch o {
	case OpLt:
		return OpGt
	case OpLe:
		return OpGe
	case OpGt:
		return OpLt
	case OpGe:
		return OpLe
	}
	return o
}

// Compare is "Property Op Value". A literal written on the left of the
// operator is moved to the right by the parser (the operator is mirrored).
// "Property = NULL" and "Property <> NULL" are parsed as IsNull.
type Compare struct {
	Property string
	Op       Op
	Value    Literal
}

// IsNull is "Property IS NULL", or "Property IS NOT NULL" when Not is set.
type IsNull struct {
	Property string
	Not      bool
}

// Like is "Property LIKE 'pattern'" ("NOT LIKE" when Not is set). In the
// pattern '%' matches any run of characters, '_' any one character and
// '[abc]', '[a-z]', '[^a]' one character of (not of) a set, as in WMI.
// Matching is case-insensitive.
type Like struct {
	Property string
	Pattern  string
	Not      bool
}

// IsA is "Property ISA 'Class'", usually "__CLASS ISA 'CIM_Foo'". See
// Query.Match for how the value is tested.
type IsA struct {
	Property string
	Class    string
}

func (*And) expr()     {}
func (*Or) expr()      {}
func (*Not) expr()     {}
func (*Compare) expr() {}
func (*IsNull) expr()  {}
func (*Like) expr()    {}
func (*IsA) expr()     {}

// Kind is the kind of a Literal.
type Kind uint8

const (
	KindString Kind = iota
	KindInt
	KindReal
	KindBool
)

// Literal is a constant of a condition. Integers keep sign and magnitude
// apart so that every value from -2^63 to 2^64-1 is exact.
type Literal struct {
	Kind Kind
	Str  string  // KindString
	Neg  bool    // KindInt: negative (never set for zero)
	Mag  uint64  // KindInt: magnitude
	Real float64 // KindReal
	Bool bool    // KindBool
}

// String returns the literal in WQL syntax.
func (l Literal) String() string {
	switch l.Kind {
	case KindString:
		return quote(l.Str)
	case KindInt:
		s := strconv.FormatUint(l.Mag, 10)
		if l.Neg {
			return "-" + s
		}
		return s
	case KindReal:
		s := strconv.FormatFloat(l.Real, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEnN") { // keep it a real: "2" -> "2.0"
			s += ".0"
		}
		return s
	case KindBool:
		if l.Bool {
			return "TRUE"
		}
		return "FALSE"
	}
	return "?"
}

// quote returns s as a single-quoted WQL string with backslash escapes.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}

// String returns q in WQL syntax. Conditions are fully parenthesized, so the
// result parses back to an equal Query.
func (q *Query) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if q.Properties == nil {
		b.WriteString("*")
	} else {
		b.WriteString(strings.Join(q.Properties, ", "))
	}
	b.WriteString(" FROM ")
	b.WriteString(q.Class)
	if q.Where != nil {
		b.WriteString(" WHERE ")
		writeExpr(&b, q.Where)
	}
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *And:
		b.WriteByte('(')
		writeExpr(b, e.L)
		b.WriteString(" AND ")
		writeExpr(b, e.R)
		b.WriteByte(')')
	case *Or:
		b.WriteByte('(')
		writeExpr(b, e.L)
		b.WriteString(" OR ")
		writeExpr(b, e.R)
		b.WriteByte(')')
	case *Not:
		b.WriteString("NOT ")
		b.WriteByte('(')
		writeExpr(b, e.X)
		b.WriteByte(')')
	case *Compare:
		b.WriteString(e.Property)
		b.WriteByte(' ')
		b.WriteString(e.Op.String())
		b.WriteByte(' ')
		b.WriteString(e.Value.String())
	case *IsNull:
		b.WriteString(e.Property)
		if e.Not {
			b.WriteString(" IS NOT NULL")
		} else {
			b.WriteString(" IS NULL")
		}
	case *Like:
		b.WriteString(e.Property)
		if e.Not {
			b.WriteString(" NOT")
		}
		b.WriteString(" LIKE ")
		b.WriteString(quote(e.Pattern))
	case *IsA:
		b.WriteString(e.Property)
		b.WriteString(" ISA ")
		b.WriteString(quote(e.Class))
	}
}

// WhereProperties returns the property names the condition refers to, in
// order of first appearance (case-insensitively deduplicated), so a caller
// can check them against the class before evaluating anything.
func (q *Query) WhereProperties() []string {
	var names []string
	seen := map[string]bool{}
	var walk func(Expr)
	add := func(p string) {
		k := strings.ToLower(p)
		if !seen[k] {
			seen[k] = true
			names = append(names, p)
		}
	}
	walk = func(e Expr) {
		switch e := e.(type) {
		case *And:
			walk(e.L)
			walk(e.R)
		case *Or:
			walk(e.L)
			walk(e.R)
		case *Not:
			walk(e.X)
		case *Compare:
			add(e.Property)
		case *IsNull:
			add(e.Property)
		case *Like:
			add(e.Property)
		case *IsA:
			add(e.Property)
		}
	}
	if q.Where != nil {
		walk(q.Where)
	}
	return names
}
