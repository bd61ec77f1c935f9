package wsman

import (
	"errors"
	"strings"

	"github.com/beevik/etree"
)

// maxEPRDepth bounds endpoint references nested in selectors.
const maxEPRDepth = 8

// DecodeEPR reads an endpoint reference from el, which is either a
// wsa:EndpointReference, an element holding one, or an element holding
// wsa:Address and wsa:ReferenceParameters directly (the unwrapped form
// Windows and openwsman use for REF parameters). ReferenceParameters carry
// wsman:ResourceURI and wsman:SelectorSet (DSP0226 §5.1).
func DecodeEPR(el *etree.Element) (*EPR, error) {
	if el == nil {
		return nil, errors.New("wsman: endpoint reference: missing")
	}
	return decodeEPR(el, maxEPRDepth)
}

func decodeEPR(el *etree.Element, depth int) (*EPR, error) {
	if child(el, NSAddressing, "Address") == nil && child(el, NSAddressing, "ReferenceParameters") == nil {
		if w := child(el, NSAddressing, "EndpointReference"); w != nil {
			el = w
		}
	}
	addr := child(el, NSAddressing, "Address")
	params := child(el, NSAddressing, "ReferenceParameters")
	if params == nil {
		// WS-Addressing 2004/08 also allows ReferenceProperties.
		params = child(el, NSAddressing, "ReferenceProperties")
	}
	if addr == nil && params == nil {
		return nil, errors.New("wsman: endpoint reference: no wsa:Address or wsa:ReferenceParameters")
	}
	epr := &EPR{Address: trimmedText(addr)}
	if params != nil {
		epr.ResourceURI = trimmedText(child(params, NSWSMan, "ResourceURI"))
		if ss := child(params, NSWSMan, "SelectorSet"); ss != nil {
			sel, f := decodeSelectorSet(ss, depth)
			if f != nil {
				return nil, errors.New("wsman: endpoint reference: " + strings.TrimPrefix(f.Reason, "wsman: "))
			}
			if f := sel.checkDuplicates(); f != nil {
				return nil, errors.New("wsman: endpoint reference: " + f.Reason)
			}
			epr.Selectors = sel
		}
	}
	if epr.Address == "" {
		epr.Address = AddressAnonymous
	}
	return epr, nil
}

// AppendEPR writes epr into parent as a:Address followed by
// a:ReferenceParameters holding w:ResourceURI and w:SelectorSet, without an
// EndpointReference wrapper, as Windows and openwsman write REF values. The
// a: and w: prefixes are declared on every response envelope.
func AppendEPR(parent *etree.Element, epr *EPR) {
	addr := epr.Address
	if addr == "" {
		addr = AddressAnonymous
	}
	ae := parent.CreateElement("a:Address")
	ae.CreateAttr("xmlns:a", NSAddressing) // see eprAddressOpen
	ae.SetText(addr)
	rp := parent.CreateElement("a:ReferenceParameters")
	rp.CreateAttr("xmlns:a", NSAddressing)
	rp.CreateAttr("xmlns:w", NSWSMan)
	rp.CreateElement("w:ResourceURI").SetText(epr.ResourceURI)
	if len(epr.Selectors) > 0 {
		appendSelectorSet(rp, epr.Selectors)
	}
}
