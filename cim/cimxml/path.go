package cimxml

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
)

// maxRefDepth bounds references nested in key bindings.
const maxRefDepth = 8

// decodeValueReference reads a VALUE.REFERENCE holding INSTANCEPATH,
// LOCALINSTANCEPATH or INSTANCENAME (DSP0201 §3.2.6). Key values become
// strings, booleans, uint64/int64/float64 per KEYVALUE's VALUETYPE, or
// ObjectPaths; cim.ObjectPath.ResolveKeys types them for a class.
func decodeValueReference(vr *etree.Element, depth int) (cim.ObjectPath, error) {
	if depth > maxRefDepth {
		return cim.ObjectPath{}, fmt.Errorf("cimxml: %s: references nested too deeply", where(vr))
	}
	children := vr.ChildElements()
	if len(children) != 1 {
		return cim.ObjectPath{}, fmt.Errorf("cimxml: %s: VALUE.REFERENCE needs exactly one path element", where(vr))
	}
	el := children[0]
	var path cim.ObjectPath
	var nameEl *etree.Element
	switch el.Tag {
	case "INSTANCEPATH":
		nsp := el.SelectElement("NAMESPACEPATH")
		if nsp == nil {
			return path, fmt.Errorf("cimxml: %s: INSTANCEPATH without NAMESPACEPATH", where(el))
		}
		path.Namespace = localNamespace(nsp.SelectElement("LOCALNAMESPACEPATH"))
		nameEl = el.SelectElement("INSTANCENAME")
	case "LOCALINSTANCEPATH":
		path.Namespace = localNamespace(el.SelectElement("LOCALNAMESPACEPATH"))
		nameEl = el.SelectElement("INSTANCENAME")
	case "INSTANCENAME":
		nameEl = el
	default:
		return path, fmt.Errorf("cimxml: %s: unsupported reference form %s", where(el), el.Tag)
	}
	if nameEl == nil {
		return path, fmt.Errorf("cimxml: %s: reference without INSTANCENAME", where(el))
	}
	class, _ := xmlcim.Attr(nameEl, "CLASSNAME")
	if class = strings.TrimSpace(class); class == "" {
		return path, fmt.Errorf("cimxml: %s: INSTANCENAME without CLASSNAME", where(nameEl))
	}
	path.ClassName = class
	for _, kb := range nameEl.ChildElements() {
		if kb.Tag != "KEYBINDING" {
			return path, fmt.Errorf("cimxml: %s: unsupported element in INSTANCENAME", where(kb))
		}
		name, _ := xmlcim.Attr(kb, "NAME")
		if name == "" {
			return path, fmt.Errorf("cimxml: %s: KEYBINDING without NAME", where(kb))
		}
		if _, dup := path.Key(name); dup {
			return path, fmt.Errorf("cimxml: %s: duplicate key %s", where(kb), name)
		}
		var v any
		if kv := kb.SelectElement("KEYVALUE"); kv != nil {
			var err error
			if v, err = keyValue(kv); err != nil {
				return path, err
			}
		} else if ref := kb.SelectElement("VALUE.REFERENCE"); ref != nil {
			p, err := decodeValueReference(ref, depth+1)
			if err != nil {
				return path, err
			}
			v = p
		} else {
			return path, fmt.Errorf("cimxml: %s: KEYBINDING without value", where(kb))
		}
		path.Keys = append(path.Keys, cim.KeyBinding{Name: name, Value: v})
	}
	return path, nil
}

// localNamespace joins the NAMESPACE NAMEs of a LOCALNAMESPACEPATH with '/'.
func localNamespace(el *etree.Element) string {
	if el == nil {
		return ""
	}
	var parts []string
	for _, ns := range el.SelectElements("NAMESPACE") {
		if n, _ := xmlcim.Attr(ns, "NAME"); n != "" {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "/")
}

func keyValue(kv *etree.Element) (any, error) {
	text := xmlcim.Text(kv)
	vt, _ := xmlcim.Attr(kv, "VALUETYPE")
	switch strings.ToLower(vt) {
	case "", "string":
		return text, nil
	case "boolean":
		v, err := cim.ParseValue(cim.Boolean, text)
		if err != nil {
			return nil, fmt.Errorf("cimxml: %s: %w", where(kv), err)
		}
		return v, nil
	case "numeric":
		t := strings.TrimSpace(text)
		if u, err := strconv.ParseUint(t, 10, 64); err == nil {
			return u, nil
		}
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f, nil
		}
		return nil, fmt.Errorf("cimxml: %s: %q is not numeric", where(kv), text)
	}
	return nil, fmt.Errorf("cimxml: %s: unknown VALUETYPE %q", where(kv), vt)
}

// encodeValueReference writes path as VALUE.REFERENCE into parent:
// LOCALINSTANCEPATH when it has a namespace, else INSTANCENAME.
func encodeValueReference(parent *etree.Element, path cim.ObjectPath, depth int) {
	vr := parent.CreateElement("VALUE.REFERENCE")
	name := vr
	if path.Namespace != "" {
		lip := vr.CreateElement("LOCALINSTANCEPATH")
		lnp := lip.CreateElement("LOCALNAMESPACEPATH")
		for _, part := range strings.FieldsFunc(path.Namespace, func(r rune) bool { return r == '/' || r == '\\' }) {
			lnp.CreateElement("NAMESPACE").CreateAttr("NAME", xmlcim.Sanitize(part))
		}
		name = lip
	}
	in := name.CreateElement("INSTANCENAME")
	in.CreateAttr("CLASSNAME", path.ClassName)
	for _, k := range path.Keys {
		kb := in.CreateElement("KEYBINDING")
		kb.CreateAttr("NAME", k.Name)
		switch v := k.Value.(type) {
		case cim.ObjectPath:
			if depth < maxRefDepth {
				encodeValueReference(kb, v, depth+1)
				continue
			}
			kv := kb.CreateElement("KEYVALUE")
			kv.CreateAttr("VALUETYPE", "string")
			kv.SetText(xmlcim.Sanitize(v.String()))
		case bool:
			kv := kb.CreateElement("KEYVALUE")
			kv.CreateAttr("VALUETYPE", "boolean")
			kv.SetText(cim.FormatValue(v))
		case uint64, int64, float64:
			kv := kb.CreateElement("KEYVALUE")
			kv.CreateAttr("VALUETYPE", "numeric")
			kv.SetText(cim.FormatValue(v))
		default:
			kv := kb.CreateElement("KEYVALUE")
			kv.CreateAttr("VALUETYPE", "string")
			kv.SetText(xmlcim.Sanitize(cim.FormatValue(v)))
		}
	}
}
