// Package mof parses the Managed Object Format (DMTF DSP0221) subset vsmig
// needs: the class declarations of the DMTF CIM schema files in schemas/
// and instance declarations, as clients send embedded instances in MOF
// form (libvirt-cim, pywbem) and as test fixtures are written.
//
// Supported: comments, #pragma (namespace is noted, others ignored),
// qualifier declarations (skipped: cim.NewRegistry knows the flavors vsmig
// needs), classes with qualifier lists, properties, arrays, defaults,
// references and methods, and "instance of Class [as $Alias] {...};" with
// aliases, inline or string-embedded instances. Not supported: MOF 3
// structures, enumerations and the asterisk datetime wildcards.
//
// Errors are *ParseError values carrying the file name, line and column.
//
// Imports: the standard library and cim.
package mof

import (
	"fmt"
	"strings"

	"github.com/vsmig/vsmig/cim"
)

// ParseClasses parses the class declarations of the MOF file named name
// (for error messages). The classes are unresolved: each holds only the
// properties and methods it declares, with Key, ValueMap, Values,
// EmbeddedInstance, Abstract and Association taken from its qualifiers;
// cim.NewRegistry resolves inheritance. Instance declarations in the file
// are checked for syntax and otherwise ignored. A class declared twice in
// the file is an error.
func ParseClasses(name string, src []byte) ([]*cim.Class, error) {
	f, perr := parseFile(name, string(src))
	if perr != nil {
		return nil, perr
	}
	b := &builder{file: name}
	seen := make(map[string]bool)
	classes := make([]*cim.Class, 0, len(f.classes))
	for _, ca := range f.classes {
		k := strings.ToLower(ca.name)
		if seen[k] {
			return nil, b.errorf(ca.pos, "class %s declared twice", ca.name)
		}
		seen[k] = true
		c, err := b.buildClass(ca)
		if err != nil {
			return nil, err
		}
		classes = append(classes, c)
	}
	return classes, nil
}

// Options adjust how instances are parsed. The zero value is strict.
type Options struct {
	// DiscardUnknown skips assignments to properties the class does not
	// define instead of failing (libvirt-cim clients send a bogus
	// CreationClassName in setting data).
	DiscardUnknown bool
	// AsClass, when set, is the class an instance is built as if its own
	// class is not in the registry (a vendor subclass such as
	// KVM_VirtualSystemMigrationSettingData of the class a parameter
	// expects). Embedded instances inside it then fall back to their
	// property's EmbeddedInstance class the same way.
	AsClass string
}

// ParseInstance parses src, which must hold exactly one instance
// declaration (comments and pragmas aside), against the classes of reg,
// strictly: Options{}.ParseInstance.
func ParseInstance(src string, reg cim.Registry) (*cim.Instance, error) {
	return Options{}.ParseInstance(src, reg)
}

// ParseInstance parses src, which must hold exactly one instance
// declaration, against the classes of reg. Property names are matched
// case-insensitively; each value is checked against the property's type
// and range; an unknown property is an error unless DiscardUnknown is set.
// The instance's namespace is that of a #pragma namespace, if any.
func (o Options) ParseInstance(src string, reg cim.Registry) (*cim.Instance, error) {
	b := &builder{reg: reg, opts: o}
	inst, err := b.parseOne("", src)
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// ParseInstances parses every instance declaration of the MOF file named
// name against reg (class declarations in it are ignored). A reference
// property may be given as $Alias of another instance in the file, which
// yields that instance's object path.
func (o Options) ParseInstances(name string, src []byte, reg cim.Registry) ([]*cim.Instance, error) {
	f, perr := parseFile(name, string(src))
	if perr != nil {
		return nil, perr
	}
	b := &builder{file: name, reg: reg, opts: o, namespace: f.namespace, aliases: make(map[string]*cim.Instance)}
	// Two passes so that aliases may be used before their declaration:
	// first every instance without its alias-valued properties, then those.
	insts := make([]*cim.Instance, len(f.instances))
	b.deferAliases = true
	for i, ia := range f.instances {
		inst, err := b.instance(ia, "")
		if err != nil {
			return nil, err
		}
		if ia.alias != "" {
			k := strings.ToLower(ia.alias)
			if _, dup := b.aliases[k]; dup {
				return nil, b.errorf(ia.pos, "alias $%s declared twice", ia.alias)
			}
			b.aliases[k] = inst
		}
		insts[i] = inst
	}
	for _, pa := range b.pending {
		v, err := b.value(pa.prop.Type, pa.prop.Array, "", pa.value)
		if err != nil {
			return nil, b.errorf(pa.value.pos, "property %s: %v", pa.prop.Name, err)
		}
		if err := pa.inst.Set(pa.prop.Name, v); err != nil {
			return nil, b.errorf(pa.value.pos, "property %s: %v", pa.prop.Name, err)
		}
	}
	return insts, nil
}

// builder converts syntax trees into cim values.
type builder struct {
	file      string
	reg       cim.Registry
	opts      Options
	namespace string
	depth     int // embedded-instance nesting

	aliases      map[string]*cim.Instance // lower-case alias -> instance
	deferAliases bool
	pending      []pendingAlias
}

type pendingAlias struct {
	inst  *cim.Instance
	prop  *cim.Property
	value *lit
}

func (b *builder) errorf(at pos, format string, args ...any) *ParseError {
	return &ParseError{File: b.file, Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)}
}

// parseOne parses a source holding exactly one instance.
func (b *builder) parseOne(name, src string) (*cim.Instance, error) {
	f, perr := parseFile(name, src)
	if perr != nil {
		return nil, perr
	}
	b.file = name
	if len(f.classes) > 0 {
		return nil, b.errorf(f.classes[0].pos, "class declaration where an instance was expected")
	}
	switch len(f.instances) {
	case 0:
		return nil, &ParseError{File: name, Line: 1, Col: 1, Msg: "no instance declaration"}
	case 1:
	default:
		return nil, b.errorf(f.instances[1].pos, "more than one instance declaration")
	}
	b.namespace = f.namespace
	return b.instance(f.instances[0], b.opts.AsClass)
}

// instance builds one instance. fallback is the class to use when the
// declared class is not in the registry ("" to fail instead).
func (b *builder) instance(ia *instanceAST, fallback string) (*cim.Instance, error) {
	if b.reg == nil {
		return nil, b.errorf(ia.pos, "instance of %s: no class registry", ia.className)
	}
	class, ok := b.reg.Class(ia.className)
	if !ok && fallback != "" {
		class, ok = b.reg.Class(fallback)
	}
	if !ok {
		return nil, b.errorf(ia.pos, "instance of unknown class %s", ia.className)
	}
	inst := cim.NewInstance(class, b.namespace)
	assigned := make(map[string]bool)
	for _, a := range ia.props {
		prop := class.Property(a.name)
		if prop == nil {
			if b.opts.DiscardUnknown {
				continue
			}
			return nil, b.errorf(a.pos, "class %s has no property %s", class.Name, a.name)
		}
		if assigned[prop.Name] {
			return nil, b.errorf(a.pos, "property %s assigned twice", prop.Name)
		}
		assigned[prop.Name] = true
		if b.deferAliases && usesAlias(a.value) {
			b.pending = append(b.pending, pendingAlias{inst: inst, prop: prop, value: a.value})
			continue
		}
		v, err := b.value(prop.Type, prop.Array, prop.EmbeddedInstance, a.value)
		if err != nil {
			if pe, ok := err.(*ParseError); ok {
				return nil, pe
			}
			return nil, b.errorf(a.value.pos, "property %s: %v", prop.Name, err)
		}
		if err := inst.Set(prop.Name, v); err != nil {
			return nil, b.errorf(a.value.pos, "property %s: %v", prop.Name, err)
		}
	}
	return inst, nil
}

// nested builds an inline instance value of a string property.
func (b *builder) nested(ia *instanceAST, embedded string) (*cim.Instance, error) {
	fallback := ""
	if b.opts.AsClass != "" {
		fallback = embedded
	}
	inst, err := b.instance(ia, fallback)
	if err != nil {
		return nil, err
	}
	if embedded != "" && !b.reg.IsA(inst.Class.Name, embedded) {
		return nil, b.errorf(ia.pos, "instance of %s is not a %s", inst.Class.Name, embedded)
	}
	return inst, nil
}

func usesAlias(l *lit) bool {
	if l.kind == litAlias {
		return true
	}
	for _, it := range l.items {
		if usesAlias(it) {
			return true
		}
	}
	return false
}
