package wsbind

import (
	"errors"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/wscim"
)

// The encodings of instances the binding needs, in one place.

// decodeInstance reads the WS-CIM representation of a Put as an instance
// of class (or a subclass the element names).
func decodeInstance(el *etree.Element, reg cim.Registry, class *cim.Class) (*cim.Instance, error) {
	return wscim.DecodeInstance(el, reg, wscim.DecodeOptions{Expect: class.Name})
}

// parseEmbedded reads an EmbeddedInstance argument of class expect.
// INTERIM until cim/embedded lands: nested WS-CIM elements only.
func parseEmbedded(text string, el *etree.Element, reg cim.Registry, expect string) (*cim.Instance, error) {
	if el != nil && len(el.ChildElements()) == 1 {
		return wscim.DecodeInstance(el.ChildElements()[0], reg, wscim.DecodeOptions{Expect: expect})
	}
	return nil, errors.New("embedded instance text is not supported yet")
}

// encodeEmbedded writes an embedded OUT instance as text.
// INTERIM until cim/cimxml lands: MOF.
func encodeEmbedded(inst *cim.Instance) string { return inst.String() }
