package wsman

import (
	"strings"

	"github.com/beevik/etree"
)

// SelectorNamespace is the DSP0227 §6.3 selector naming the CIM namespace;
// it is accepted on every resource and never counts as unexpected.
const SelectorNamespace = "__cimnamespace"

// maxSelectors bounds a SelectorSet; more is wsman:EncodingLimit
// (DSP0226 detail SelectorLimit would also fit, but is optional).
const maxSelectors = 256

// Namespace returns the __cimnamespace selector's value, or "".
func (s SelectorSet) Namespace() string { return s.Value(SelectorNamespace) }

// Check validates s against the key names of a resource (DSP0226 §5.1.2,
// R5.1.2.2-1): names compare case-insensitively, __cimnamespace is always
// allowed. It returns a wsman:InvalidSelectors *Fault with detail
// DuplicateSelectors, InsufficientSelectors (a key is missing) or
// UnexpectedSelectors (a name that is not a key), checked in that order,
// or nil.
func (s SelectorSet) Check(keys []string) error {
	if f := s.checkDuplicates(); f != nil {
		return f
	}
	for _, k := range keys {
		if _, ok := s.Get(k); !ok {
			return NewFault(SubcodeInvalidSelectors, DetailInsufficientSelectors,
				"The selectors for the resource are not valid: missing selector "+k+".")
		}
	}
	for _, sel := range s {
		if equalFold(sel.Name, SelectorNamespace) {
			continue
		}
		found := false
		for _, k := range keys {
			if equalFold(sel.Name, k) {
				found = true
				break
			}
		}
		if !found {
			return NewFault(SubcodeInvalidSelectors, DetailUnexpectedSelectors,
				"The selectors for the resource are not valid: unexpected selector "+sel.Name+".")
		}
	}
	return nil
}

// checkDuplicates returns a DuplicateSelectors fault if two selectors
// share a name (case-insensitively).
func (s SelectorSet) checkDuplicates() *Fault {
	for i := 1; i < len(s); i++ {
		for j := 0; j < i; j++ {
			if equalFold(s[i].Name, s[j].Name) {
				return NewFault(SubcodeInvalidSelectors, DetailDuplicateSelectors,
					"The selectors for the resource are not valid: duplicate selector "+s[i].Name+".")
			}
		}
	}
	return nil
}

// decodeSelectorSet reads a wsman:SelectorSet element. A selector value is
// its text or, for reference-valued keys, a nested wsa:EndpointReference.
// depth bounds EPR recursion.
func decodeSelectorSet(e *etree.Element, depth int) (SelectorSet, *Fault) {
	var set SelectorSet
	for _, t := range e.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		if !is(c, NSWSMan, "Selector") {
			return nil, NewFault(SubcodeInvalidSelectors, "", "The SelectorSet contains an element that is not a wsman:Selector.")
		}
		name, ok := attr(c, "", "Name")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, NewFault(SubcodeInvalidSelectors, "", "A wsman:Selector has no Name attribute.")
		}
		if len(set) >= maxSelectors {
			return nil, NewFault(SubcodeEncodingLimit, "SelectorLimit", "Too many selectors.")
		}
		sel := Selector{Name: name}
		if ref := child(c, NSAddressing, "EndpointReference"); ref != nil {
			if depth <= 0 {
				return nil, NewFault(SubcodeInvalidSelectors, "", "Endpoint references in selectors are nested too deeply.")
			}
			epr, err := decodeEPR(ref, depth-1)
			if err != nil {
				return nil, NewFault(SubcodeInvalidSelectors, DetailInvalidValue, "Selector "+name+": "+err.Error())
			}
			sel.EPR = epr
		} else {
			sel.Value = trimmedText(c)
		}
		set = append(set, sel)
	}
	return set, nil
}

// appendSelectorSet writes s as w:SelectorSet under parent.
func appendSelectorSet(parent *etree.Element, s SelectorSet) {
	ss := parent.CreateElement("w:SelectorSet")
	ss.CreateAttr("xmlns:w", NSWSMan) // see eprSelectorsOpen
	for _, sel := range s {
		se := ss.CreateElement("w:Selector")
		se.CreateAttr("Name", sel.Name)
		if sel.EPR != nil {
			AppendEPR(se.CreateElement("a:EndpointReference"), sel.EPR)
		} else {
			se.SetText(sel.Value)
		}
	}
}
