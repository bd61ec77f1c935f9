// Package embedded decodes the value of an EmbeddedInstance method
// parameter (MigrationSettingData, NewSystemSettingData,
// NewResourceSettingData[] of MigrateVirtualSystemToHost) in whichever of
// the encodings real clients send:
//
//   - CIM-XML text, <INSTANCE CLASSNAME="…">…</INSTANCE> (Hyper-V style
//     clients, libvirt's hyperv driver, PowerShell; in CDATA or escaped);
//   - a WS-CIM element tree nested in the parameter element (Windows MI
//     clients, OMI), or the same tree sent as escaped text;
//   - MOF, instance of Class { Prop = value; }; (libvirt-cim, pywbem and
//     cimtest habits).
//
// Imports: the standard library, github.com/beevik/etree, cim, cim/cimxml,
// cim/wscim, cim/mof and cim/internal/xmlcim.
package embedded

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimxml"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
	"github.com/vsmig/vsmig/cim/mof"
	"github.com/vsmig/vsmig/cim/wscim"
)

// maxXMLDepth bounds the nesting of a WS-CIM tree sent as text.
const maxXMLDepth = 32

// Parse decodes an embedded instance parameter value. text is the
// parameter's character content after XML unescaping (CDATA and escaped
// text are the same to the caller); el is the parameter element, or nil
// when the value is only known as text.
//
// When el has child elements they are the WS-CIM form
// (wscim.DecodeEmbedded), or CIM-XML markup when the only child is an
// unqualified INSTANCE or VALUE.* element. Otherwise the text, trimmed, is read as CIM-XML
// when it starts with <INSTANCE or <VALUE. (after an optional XML
// declaration), as a WS-CIM instance element when it starts with another
// '<', and as MOF otherwise. When text is empty and el is not nil, the
// character content of el is used.
//
// expect is the parameter's EmbeddedInstance class. A class in reg must be
// expect or derive from it. A class unknown to reg (a vendor subclass
// such as Msvm_VirtualSystemMigrationSettingData) is decoded as expect,
// and its properties that expect does not define are ignored; in every
// form, properties unknown to a known class are errors.
//
// Every error is a *cim.Error with StatusInvalidParameter, which a method
// provider turns into its Invalid Parameter return code (4); it says what
// is wrong where, and the caller adds the parameter name.
func Parse(text string, el *etree.Element, reg cim.Registry, expect string) (*cim.Instance, error) {
	inst, err := parse(text, el, reg, expect)
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusInvalidParameter, Message: "invalid embedded instance", Err: err}
	}
	if expect != "" && !reg.IsA(inst.Class.Name, expect) {
		return nil, cim.Errorf(cim.StatusInvalidParameter, "embedded instance of %s is not a %s", inst.Class.Name, expect)
	}
	return inst, nil
}

func parse(text string, el *etree.Element, reg cim.Registry, expect string) (*cim.Instance, error) {
	if el != nil && len(el.ChildElements()) > 0 {
		if kids := el.ChildElements(); len(kids) == 1 && kids[0].Space == "" && isCIMXML("<"+kids[0].Tag) {
			// CIM-XML sent as markup rather than text.
			doc := etree.NewDocument()
			doc.SetRoot(kids[0].Copy())
			s, err := doc.WriteToString()
			if err != nil {
				return nil, err
			}
			return cimxml.DecodeInstance(s, reg, expect)
		}
		return wscim.DecodeEmbedded(el, reg, wscim.DecodeOptions{Expect: expect})
	}
	if text == "" && el != nil {
		text = xmlcim.Text(el)
	}
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return nil, fmt.Errorf("empty value")
	case isCIMXML(t):
		return cimxml.DecodeInstance(t, reg, expect)
	case strings.HasPrefix(t, "<"):
		return parseWSCIMText(t, reg, expect)
	}
	return parseMOF(t, reg, expect)
}

// isCIMXML reports whether t, after an optional XML declaration and
// white space, starts with a CIM-XML instance element.
func isCIMXML(t string) bool {
	if strings.HasPrefix(t, "<?xml") {
		if i := strings.Index(t, "?>"); i >= 0 {
			t = strings.TrimSpace(t[i+2:])
		}
	}
	return strings.HasPrefix(t, "<INSTANCE") || strings.HasPrefix(t, "<VALUE.")
}

// parseWSCIMText reads a WS-CIM instance element sent as text.
func parseWSCIMText(t string, reg cim.Registry, expect string) (*cim.Instance, error) {
	if len(t) > cimxml.MaxTextSize {
		return nil, fmt.Errorf("text of %d bytes exceeds the limit of %d", len(t), cimxml.MaxTextSize)
	}
	if strings.Contains(strings.ToUpper(t), "<!DOCTYPE") {
		return nil, fmt.Errorf("DOCTYPE is not allowed")
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: maxXMLDepth}
	if err := doc.ReadFromString(t); err != nil {
		return nil, fmt.Errorf("malformed XML: %w", err)
	}
	if doc.Root() == nil || len(doc.ChildElements()) != 1 {
		return nil, fmt.Errorf("want exactly one instance element")
	}
	for _, tok := range doc.Child {
		if _, ok := tok.(*etree.Directive); ok {
			return nil, fmt.Errorf("XML directives are not allowed")
		}
	}
	return wscim.DecodeInstance(doc.Root(), reg, wscim.DecodeOptions{Expect: expect})
}

// mofClass finds the class of the (first) instance declaration.
var mofClass = regexp.MustCompile(`(?i)\binstance\s+of\s+([A-Za-z_][A-Za-z0-9_]*)`)

// parseMOF reads a MOF instance declaration. A class known to reg is
// parsed strictly; an unknown one as expect, discarding the subclass's
// own properties (the rule of the XML forms).
func parseMOF(t string, reg cim.Registry, expect string) (*cim.Instance, error) {
	if len(t) > cimxml.MaxTextSize {
		return nil, fmt.Errorf("text of %d bytes exceeds the limit of %d", len(t), cimxml.MaxTextSize)
	}
	opts := mof.Options{}
	if m := mofClass.FindStringSubmatch(t); m != nil && expect != "" {
		if _, known := reg.Class(m[1]); !known {
			opts = mof.Options{AsClass: expect, DiscardUnknown: true}
		}
	}
	return opts.ParseInstance(t, reg)
}
