package cim

import (
	"errors"
	"fmt"
	"strings"
)

// KeyProblem says what is wrong with the keys of an object path.
type KeyProblem int

const (
	// MissingKey: a key property of the class has no value in the path.
	MissingKey KeyProblem = iota + 1
	// UnexpectedKey: the path names a property that is not a key of the
	// class (or not a property at all).
	UnexpectedKey
	// DuplicateKey: the path names a key twice.
	DuplicateKey
	// KeyTypeMismatch: a key value does not have its property's type.
	KeyTypeMismatch
	// WrongCreationClass: CreationClassName names a class that is not the
	// path's class, a subclass or a superclass of it.
	WrongCreationClass
)

// KeyError is the error of CheckPath: one problem with one key.
type KeyError struct {
	Problem KeyProblem
	Class   string
	Key     string
	Err     error // the conversion error of a KeyTypeMismatch
}

func (e *KeyError) Error() string {
	switch e.Problem {
	case MissingKey:
		return fmt.Sprintf("cim: the path of a %s has no key %s", e.Class, e.Key)
	case UnexpectedKey:
		return fmt.Sprintf("cim: %s is not a key of %s", e.Key, e.Class)
	case DuplicateKey:
		return fmt.Sprintf("cim: key %s of %s is given twice", e.Key, e.Class)
	case KeyTypeMismatch:
		return fmt.Sprintf("cim: key %s of %s: %v", e.Key, e.Class, e.Err)
	}
	return fmt.Sprintf("cim: CreationClassName %q does not name %s or a class related to it", e.Key, e.Class)
}

func (e *KeyError) Unwrap() error { return e.Err }

// CheckPath is the one key validation of an object path, whatever carried
// it: the selectors of a request, the Object of an association filter, a
// REF method parameter. The class must exist (an *Error with
// StatusInvalidClass otherwise). The path must give every key of the class
// once, and nothing else; a keyless abstract class (CIM_ManagedElement)
// takes the keys of the class its CreationClassName key names. Values must
// have their key's type (strings for keys whose path came from text are
// accepted for any type: they are converted later), and a CreationClassName
// must name the path's class or a class related to it by inheritance. Any
// other problem is a *KeyError (wrapped in an *Error with
// StatusInvalidParameter), naming it.
func CheckPath(reg Registry, path ObjectPath) error {
	c, ok := reg.Class(path.ClassName)
	if !ok {
		return Errorf(StatusInvalidClass, "invalid class %q", path.ClassName)
	}
	keyClass := c
	ccn := ""
	for _, k := range path.Keys {
		if strings.EqualFold(k.Name, "CreationClassName") {
			ccn, _ = k.Value.(string)
		}
	}
	if ccn != "" {
		cc, ok := reg.Class(ccn)
		if !ok || !reg.IsA(cc.Name, c.Name) && !reg.IsA(c.Name, cc.Name) {
			return keyErr(&KeyError{Problem: WrongCreationClass, Class: c.Name, Key: ccn})
		}
		if len(c.Keys()) == 0 && reg.IsA(cc.Name, c.Name) {
			keyClass = cc
		}
	}
	keys := keyClass.Keys()
	seen := make(map[string]bool, len(path.Keys))
	for _, k := range path.Keys {
		name := strings.ToLower(k.Name)
		if seen[name] {
			return keyErr(&KeyError{Problem: DuplicateKey, Class: keyClass.Name, Key: k.Name})
		}
		seen[name] = true
		p := keyClass.Property(k.Name)
		if p == nil || !p.Key {
			return keyErr(&KeyError{Problem: UnexpectedKey, Class: keyClass.Name, Key: k.Name})
		}
		if s, text := k.Value.(string); text && p.Type != String {
			if _, err := ParseValue(p.Type, s); err != nil && p.Type != Reference {
				return keyErr(&KeyError{Problem: KeyTypeMismatch, Class: keyClass.Name, Key: p.Name, Err: err})
			}
			continue
		}
		if err := checkValue(p.Type, p.Array, k.Value); err != nil {
			return keyErr(&KeyError{Problem: KeyTypeMismatch, Class: keyClass.Name, Key: p.Name, Err: err})
		}
	}
	for _, p := range keys {
		if !seen[strings.ToLower(p.Name)] {
			return keyErr(&KeyError{Problem: MissingKey, Class: keyClass.Name, Key: p.Name})
		}
	}
	return nil
}

func keyErr(ke *KeyError) error {
	return &Error{Status: StatusInvalidParameter, Message: strings.TrimPrefix(ke.Error(), "cim: "), Err: ke}
}

// AsKeyError returns the *KeyError in err's chain, if any.
func AsKeyError(err error) (*KeyError, bool) {
	var ke *KeyError
	ok := errors.As(err, &ke)
	return ke, ok
}
