package wsman

import (
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/wql"
)

// DialectXPath is the default filter dialect of WS-Enumeration and
// wsman:Filter; this service does not implement it.
const DialectXPath = "http://www.w3.org/TR/1999/REC-xpath-19991116"

// decodeFilter reads the wsen:Filter or wsman:Filter of an Enumerate
// (DSP0226 §8.3, processed identically as Windows does). Both present is
// wsen:CannotProcessFilter; a dialect other than SelectorFilter,
// AssociationFilter (DSP0227 §8.2) and WQL is
// wsen:FilterDialectRequestedUnavailable; a malformed filter or bad WQL is
// wsen:CannotProcessFilter.
func decodeFilter(enum *etree.Element) (*Filter, *Fault) {
	fe := child(enum, NSEnumeration, "Filter")
	if we := child(enum, NSWSMan, "Filter"); we != nil {
		if fe != nil {
			return nil, NewFault(SubcodeCannotProcessFilter, "", "Both wsen:Filter and wsman:Filter are present.")
		}
		fe = we
	}
	if fe == nil {
		return nil, nil
	}
	dialect, ok := attr(fe, "", "Dialect")
	dialect = strings.TrimSpace(dialect)
	if !ok || dialect == "" {
		dialect = DialectXPath
	}
	f := &Filter{Dialect: dialect}
	switch dialect {
	case DialectSelector:
		ss := child(fe, NSWSMan, "SelectorSet")
		if ss == nil {
			return nil, NewFault(SubcodeCannotProcessFilter, "", "The SelectorFilter has no wsman:SelectorSet.")
		}
		sel, ff := decodeSelectorSet(ss, maxEPRDepth)
		if ff == nil {
			ff = sel.checkDuplicates()
		}
		if ff != nil {
			return nil, NewFault(SubcodeCannotProcessFilter, "", "The SelectorFilter is not valid: "+ff.Reason)
		}
		f.Selectors = sel
	case DialectAssociation:
		a, ff := decodeAssociation(fe)
		if ff != nil {
			return nil, ff
		}
		f.Association = a
	case DialectWQL:
		q, err := wql.Parse(strings.TrimSpace(textOf(fe)))
		if err != nil {
			ff := NewFault(SubcodeCannotProcessFilter, "", "The WQL query is not valid: "+err.Error())
			ff.Err = err
			return nil, ff
		}
		f.WQL = q
	default:
		return nil, NewFault(SubcodeFilterDialectRequestedUnavailable, "", "The filter dialect "+dialect+" is not supported.")
	}
	return f, nil
}

// decodeAssociation reads the DSP0227 §8.2 AssociatedInstances or
// AssociationInstances element inside a filter.
func decodeAssociation(fe *etree.Element) (*AssociationFilter, *Fault) {
	a := &AssociationFilter{}
	el := child(fe, NSCIMBinding, "AssociatedInstances")
	if el == nil {
		el = child(fe, NSCIMBinding, "AssociationInstances")
		a.Kind = AssociationInstances
	}
	if el == nil {
		return nil, NewFault(SubcodeCannotProcessFilter, "", "The association filter has no AssociatedInstances or AssociationInstances element.")
	}
	obj := child(el, NSCIMBinding, "Object")
	if obj == nil {
		return nil, NewFault(SubcodeCannotProcessFilter, "", "The association filter has no Object.")
	}
	epr, err := DecodeEPR(obj)
	if err != nil {
		f := NewFault(SubcodeCannotProcessFilter, "", "The association filter Object is not valid: "+err.Error())
		f.Err = err
		return nil, f
	}
	a.Object = *epr
	for _, t := range el.Child {
		c, ok := t.(*etree.Element)
		if !ok || c.NamespaceURI() != NSCIMBinding {
			continue
		}
		v := trimmedText(c)
		switch c.Tag {
		case "AssociationClassName":
			a.AssociationClassName = v
		case "Role":
			a.Role = v
		case "ResultClassName":
			a.ResultClassName = v
		case "ResultRole":
			a.ResultRole = v
		case "IncludeResultProperty":
			a.IncludeResultProperty = append(a.IncludeResultProperty, v)
		}
	}
	// DSP0227 §8.2: in AssociationInstances (References) ResultClassName
	// names the association class of the result, as CIM References'
	// ResultClass; ResultRole has no meaning there and is ignored, as
	// openwsman (which sends it) does.
	return a, nil
}
