package wsbind

import (
	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimxml"
	"github.com/vsmig/vsmig/cim/embedded"
	"github.com/vsmig/vsmig/cim/wscim"
)

// The encodings of instances the binding needs, in one place.

// decodeInstance reads the WS-CIM representation of a Put as an instance
// of class (or a subclass the element names).
func decodeInstance(el *etree.Element, reg cim.Registry, class *cim.Class) (*cim.Instance, error) {
	return wscim.DecodeInstance(el, reg, wscim.DecodeOptions{Expect: class.Name})
}

// parseEmbedded reads an EmbeddedInstance argument of class expect in any
// of the forms clients send (CIM-XML, MOF, nested WS-CIM; see
// cim/embedded).
func parseEmbedded(text string, el *etree.Element, reg cim.Registry, expect string) (*cim.Instance, error) {
	return embedded.Parse(text, el, reg, expect)
}

// encodeEmbedded writes an embedded OUT instance as CIM-XML text, the form
// Hyper-V returns and clients parse.
func encodeEmbedded(inst *cim.Instance) string { return cimxml.EncodeInstance(inst) }
