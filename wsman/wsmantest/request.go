// Package wsmantest provides test helpers for the wsman package and its
// users: request envelopes built the way real clients build them, and a
// small in-memory resource implementing every wsman resource interface.
package wsmantest

import (
	"sort"
	"strings"

	"github.com/google/uuid"
)

// Namespaces and actions repeated here so that tests read like the wire.
const (
	nsSOAP   = "http://www.w3.org/2003/05/soap-envelope"
	nsWSA    = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan  = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsEnum   = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	nsXfer   = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsMS     = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	nsCIMB   = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	nsIdent  = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	anonAddr = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

	ActionGet       = nsXfer + "/Get"
	ActionPut       = nsXfer + "/Put"
	ActionCreate    = nsXfer + "/Create"
	ActionDelete    = nsXfer + "/Delete"
	ActionEnumerate = nsEnum + "/Enumerate"
	ActionPull      = nsEnum + "/Pull"
	ActionRelease   = nsEnum + "/Release"
)

// NewRequest returns a request envelope laid out as pywinrm 0.3.0 sends it
// (env/a/w/n/x/b/p prefixes, unqualified mustUnderstand, the hard-coded
// To, MaxEnvelopeSize 153600, OperationTimeout PT20S, en-US locales and a
// fresh uuid: MessageID). selectors become a w:SelectorSet in sorted name
// order; body is the raw XML placed inside env:Body (may be "").
func NewRequest(action, resourceURI string, selectors map[string]string, body string) []byte {
	return NewRequestID("uuid:"+uuid.NewString(), action, resourceURI, selectors, body)
}

// NewRequestID is NewRequest with a given MessageID.
func NewRequestID(messageID, action, resourceURI string, selectors map[string]string, body string) []byte {
	var b strings.Builder
	b.Grow(1600 + len(body))
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` +
		` xmlns:env="` + nsSOAP + `" xmlns:a="` + nsWSA + `" xmlns:b="` + nsCIMB + `" xmlns:n="` + nsEnum +
		`" xmlns:x="` + nsXfer + `" xmlns:w="` + nsWSMan + `" xmlns:p="` + nsMS + `">`)
	b.WriteString(`<env:Header><a:To>http://windows-host:5985/wsman</a:To>`)
	b.WriteString(`<a:ReplyTo><a:Address mustUnderstand="true">` + anonAddr + `</a:Address></a:ReplyTo>`)
	b.WriteString(`<w:MaxEnvelopeSize mustUnderstand="true">153600</w:MaxEnvelopeSize>`)
	b.WriteString(`<a:MessageID>`)
	escape(&b, messageID)
	b.WriteString(`</a:MessageID>`)
	b.WriteString(`<w:Locale mustUnderstand="false" xml:lang="en-US"/><p:DataLocale mustUnderstand="false" xml:lang="en-US"/>`)
	b.WriteString(`<w:OperationTimeout>PT20S</w:OperationTimeout>`)
	b.WriteString(`<w:ResourceURI mustUnderstand="true">`)
	escape(&b, resourceURI)
	b.WriteString(`</w:ResourceURI><a:Action mustUnderstand="true">`)
	escape(&b, action)
	b.WriteString(`</a:Action>`)
	if len(selectors) > 0 {
		names := make([]string, 0, len(selectors))
		for k := range selectors {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteString(`<w:SelectorSet>`)
		for _, k := range names {
			b.WriteString(`<w:Selector Name="`)
			escape(&b, k)
			b.WriteString(`">`)
			escape(&b, selectors[k])
			b.WriteString(`</w:Selector>`)
		}
		b.WriteString(`</w:SelectorSet>`)
	}
	b.WriteString(`</env:Header><env:Body>`)
	b.WriteString(body)
	b.WriteString(`</env:Body></env:Envelope>`)
	return []byte(b.String())
}

// NewIdentifyRequest returns the Identify envelope openwsman and
// Test-WSMan send: an empty header and wsmid:Identify.
func NewIdentifyRequest() []byte {
	return []byte(`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:wsmid="` + nsIdent + `"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`)
}

// EnumerateBody returns an Enumerate body. With optimize, it asks for
// wsman:OptimizeEnumeration with maxElements items; mode is "" or a
// wsman:EnumerationMode value (EnumerateEPR, EnumerateObjectAndEPR).
func EnumerateBody(optimize bool, maxElements int, mode string) string {
	var b strings.Builder
	b.WriteString(`<n:Enumerate>`)
	if optimize {
		b.WriteString(`<w:OptimizeEnumeration/><w:MaxElements>`)
		b.WriteString(itoa(maxElements))
		b.WriteString(`</w:MaxElements>`)
	}
	if mode != "" {
		b.WriteString(`<w:EnumerationMode>` + mode + `</w:EnumerationMode>`)
	}
	b.WriteString(`</n:Enumerate>`)
	return b.String()
}

// PullBody returns a Pull body for context with maxElements items.
func PullBody(context string, maxElements int) string {
	var b strings.Builder
	b.WriteString(`<n:Pull><n:EnumerationContext>`)
	escape(&b, context)
	b.WriteString(`</n:EnumerationContext><n:MaxElements>`)
	b.WriteString(itoa(maxElements))
	b.WriteString(`</n:MaxElements></n:Pull>`)
	return b.String()
}

// ReleaseBody returns a Release body for context.
func ReleaseBody(context string) string {
	var b strings.Builder
	b.WriteString(`<n:Release><n:EnumerationContext>`)
	escape(&b, context)
	b.WriteString(`</n:EnumerationContext></n:Release>`)
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var d [20]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		d[i] = '-'
	}
	return string(d[i:])
}

var xmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", `'`, "&apos;")

func escape(b *strings.Builder, s string) { xmlEscaper.WriteString(b, s) }
