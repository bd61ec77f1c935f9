package cim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KeyBinding is one key of an object path. Value uses the package's value
// representation (a string, uint64, bool, ObjectPath, ...).
type KeyBinding struct {
	Name  string
	Value any
}

// ObjectPath names one instance: namespace, class and key values. It is the
// CIM form of a WS-Man EPR (ResourceURI + SelectorSet + __cimnamespace).
type ObjectPath struct {
	Namespace string
	ClassName string
	Keys      []KeyBinding
}

// String returns the path in the WBEM URI form of DSP0207 without scheme
// and host: namespace:Class.Key1="v",Key2=5. Strings, datetimes and
// references are quoted with \" and \\ escapes; the namespace and its colon
// are left out when empty, and so is the key list when there are no keys.
func (p ObjectPath) String() string {
	var b strings.Builder
	if p.Namespace != "" {
		b.WriteString(p.Namespace)
		b.WriteByte(':')
	}
	b.WriteString(p.ClassName)
	for i, k := range p.Keys {
		if i == 0 {
			b.WriteByte('.')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k.Name)
		b.WriteByte('=')
		switch v := k.Value.(type) {
		case float64:
			// Keep a float a float when read back: 1e5 formats as "100000".
			f := FormatValue(v)
			if !strings.ContainsAny(f, ".eEnN") {
				f += ".0"
			}
			b.WriteString(f)
		case uint64, int64, bool:
			b.WriteString(FormatValue(v))
		default:
			b.WriteString(quotePathValue(FormatValue(v)))
		}
	}
	return b.String()
}

func quotePathValue(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ParseObjectPath parses a path written by ObjectPath.String, also
// accepting a leading //host/ or \\host\ (dropped), backslashes as
// namespace separators (WMI), "Class=@" for a singleton and single quotes
// around values. Quoted values become strings (ResolveKeys types them for
// a class); bare true/false become booleans, bare integers uint64 (int64
// when negative) and other bare numbers float64.
func ParseObjectPath(s string) (ObjectPath, error) {
	orig := s
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "//") || strings.HasPrefix(s, `\\`) {
		rest := s[2:]
		i := strings.IndexAny(rest, `/\`)
		if i < 0 {
			return ObjectPath{}, fmt.Errorf("cim: object path %q: host without namespace", orig)
		}
		s = rest[i+1:]
	}
	head := s
	var keys string
	hasKeys := false
	if i := strings.IndexAny(s, ".="); i >= 0 {
		head, keys, hasKeys = s[:i], s[i+1:], true
		if s[i] == '=' {
			// Class=@ singleton form.
			if strings.TrimSpace(keys) != "@" {
				return ObjectPath{}, fmt.Errorf("cim: object path %q: '=' after class name", orig)
			}
			hasKeys = false
		}
	}
	var p ObjectPath
	if i := strings.LastIndexByte(head, ':'); i >= 0 {
		p.Namespace = strings.Trim(strings.ReplaceAll(strings.TrimSpace(head[:i]), `\`, "/"), "/")
		head = head[i+1:]
	}
	p.ClassName = strings.TrimSpace(head)
	if !validName(p.ClassName) {
		return ObjectPath{}, fmt.Errorf("cim: object path %q: invalid class name %q", orig, p.ClassName)
	}
	if !hasKeys {
		return p, nil
	}
	for pos := 0; ; {
		eq := strings.IndexByte(keys[pos:], '=')
		if eq < 0 {
			return ObjectPath{}, fmt.Errorf("cim: object path %q: key without '='", orig)
		}
		name := strings.TrimSpace(keys[pos : pos+eq])
		if !validName(name) {
			return ObjectPath{}, fmt.Errorf("cim: object path %q: invalid key name %q", orig, name)
		}
		pos += eq + 1
		for pos < len(keys) && keys[pos] == ' ' {
			pos++
		}
		var v any
		if pos < len(keys) && (keys[pos] == '"' || keys[pos] == '\'') {
			q := keys[pos]
			var b strings.Builder
			pos++
			closed := false
			for pos < len(keys) {
				c := keys[pos]
				pos++
				if c == '\\' && pos < len(keys) {
					b.WriteByte(keys[pos])
					pos++
					continue
				}
				if c == q {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return ObjectPath{}, fmt.Errorf("cim: object path %q: unterminated quoted value of %s", orig, name)
			}
			v = b.String()
		} else {
			end := strings.IndexByte(keys[pos:], ',')
			if end < 0 {
				end = len(keys) - pos
			}
			tok := strings.TrimSpace(keys[pos : pos+end])
			pos += end
			var err error
			if v, err = parseBareKey(tok); err != nil {
				return ObjectPath{}, fmt.Errorf("cim: object path %q: key %s: %w", orig, name, err)
			}
		}
		if _, dup := p.Key(name); dup {
			return ObjectPath{}, fmt.Errorf("cim: object path %q: key %s given twice", orig, name)
		}
		p.Keys = append(p.Keys, KeyBinding{Name: name, Value: v})
		for pos < len(keys) && keys[pos] == ' ' {
			pos++
		}
		if pos == len(keys) {
			return p, nil
		}
		if keys[pos] != ',' {
			return ObjectPath{}, fmt.Errorf("cim: object path %q: expected ',' after key %s", orig, name)
		}
		pos++
	}
}

func parseBareKey(tok string) (any, error) {
	switch {
	case strings.EqualFold(tok, "true"):
		return true, nil
	case strings.EqualFold(tok, "false"):
		return false, nil
	case tok == "":
		return nil, fmt.Errorf("empty value")
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(tok, "+"), 10, 64); err == nil {
		return n, nil
	}
	if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(tok, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("unquoted value %q is not a number or boolean", tok)
}

// validName reports whether s is a CIM identifier (letters, digits and
// underscores, not starting with a digit; DSP0004 §5.1).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= 0x80:
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Key returns the value of the key named name (case-insensitive) and
// whether the path has it.
func (p ObjectPath) Key(name string) (any, bool) {
	for _, k := range p.Keys {
		if strings.EqualFold(k.Name, name) {
			return k.Value, true
		}
	}
	return nil, false
}

// Clone returns a copy of p that shares nothing mutable with it.
func (p ObjectPath) Clone() ObjectPath {
	c := p
	if p.Keys != nil {
		c.Keys = make([]KeyBinding, len(p.Keys))
		for i, k := range p.Keys {
			c.Keys[i] = KeyBinding{Name: k.Name, Value: cloneValue(k.Value)}
		}
	}
	return c
}

// Equal reports whether p and o name the same instance: class and key
// names compare case-insensitively, key order does not matter, and values
// compare with ValuesEqual, except that an untyped string (as a selector
// or ParseObjectPath yields) also matches a typed value whose text it is.
// Namespaces compare case-insensitively ('\' equal to '/') when both are
// set; an empty namespace matches any.
func (p ObjectPath) Equal(o ObjectPath) bool {
	if !strings.EqualFold(p.ClassName, o.ClassName) || len(p.Keys) != len(o.Keys) {
		return false
	}
	if p.Namespace != "" && o.Namespace != "" && !strings.EqualFold(normNS(p.Namespace), normNS(o.Namespace)) {
		return false
	}
	for _, k := range p.Keys {
		v, ok := o.Key(k.Name)
		if !ok || !keyValuesEqual(k.Value, v) {
			return false
		}
	}
	return true
}

func normNS(ns string) string { return strings.Trim(strings.ReplaceAll(ns, `\`, "/"), "/") }

func keyValuesEqual(a, b any) bool {
	if ValuesEqual(a, b) {
		return true
	}
	as, aStr := a.(string)
	bs, bStr := b.(string)
	switch {
	case aStr && bStr:
		return false
	case aStr:
		return textMatches(as, b)
	case bStr:
		return textMatches(bs, a)
	}
	return false
}

// textMatches reports whether the text s denotes the typed value v.
func textMatches(s string, v any) bool {
	switch v := v.(type) {
	case ObjectPath:
		op, err := ParseObjectPath(s)
		return err == nil && op.Equal(v)
	case Datetime:
		d, err := ParseDatetime(s)
		return err == nil && d.Equal(v)
	case bool:
		return strings.EqualFold(strings.TrimSpace(s), strconv.FormatBool(v))
	case uint64, int64, float64:
		return strings.TrimSpace(s) == FormatValue(v)
	}
	return false
}

// Canonical returns a copy of p with the keys sorted by name
// (case-insensitively) and the namespace's separators normalised to '/', so
// that equal paths with typed keys have equal String forms (usable as map
// keys). ResolveKeys puts keys in class order instead.
func (p ObjectPath) Canonical() ObjectPath {
	c := p.Clone()
	c.Namespace = normNS(c.Namespace)
	slices.SortStableFunc(c.Keys, func(a, b KeyBinding) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return c
}

// ResolveKeys returns p checked against class c: keys in the class's key
// order, named as the class names them, and values converted to the key
// properties' types (strings from selectors are parsed with ParseValue,
// reference strings with ParseObjectPath). A missing key, a key that is
// not a key of c, or a value that does not convert gives an *Error with
// StatusInvalidParameter. The class name is given c's spelling when it
// names c.
func (p ObjectPath) ResolveKeys(c *Class) (ObjectPath, error) {
	out := ObjectPath{Namespace: p.Namespace, ClassName: p.ClassName}
	if strings.EqualFold(p.ClassName, c.Name) {
		out.ClassName = c.Name
	}
	keys := c.Keys()
	for _, k := range p.Keys {
		prop := c.Property(k.Name)
		if prop == nil || !prop.Key {
			return ObjectPath{}, Errorf(StatusInvalidParameter, "%s is not a key of class %s", k.Name, c.Name)
		}
	}
	for _, prop := range keys {
		v, ok := p.Key(prop.Name)
		if !ok {
			return ObjectPath{}, Errorf(StatusInvalidParameter, "missing key %s of class %s", prop.Name, c.Name)
		}
		cv, err := ConvertValue(prop.Type, prop.Array, v)
		if err != nil {
			return ObjectPath{}, &Error{Status: StatusInvalidParameter, Message: "key " + prop.Name + " of class " + c.Name, Err: err}
		}
		out.Keys = append(out.Keys, KeyBinding{Name: prop.Name, Value: cv})
	}
	return out, nil
}
