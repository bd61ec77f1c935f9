package wsman

import (
	"bytes"
	"crypto/rand"
	"strconv"

	"github.com/beevik/etree"
	"github.com/google/uuid"
)

// response builds one response envelope in a pooled buffer. Every
// envelope declares the fixed prefix set (ns.go) on its root, carries
// xml:lang="en-US" like Windows, and a header with the response Action, a
// new uuid: MessageID, the anonymous To and RelatesTo = the request's
// MessageID, with mustUnderstand="true" on Action, MessageID and RelatesTo
// as Windows sends them (faults omit mustUnderstand, also like Windows).
type response struct {
	buf *bytes.Buffer
}

const (
	envelopeOpen = `<s:Envelope xml:lang="en-US"` + rootNamespaces + `>`
	bodyOpen     = `</s:Header><s:Body>`
	envelopeEnd  = `</s:Body></s:Envelope>`
	muTrue       = ` s:mustUnderstand="true"`
)

// start writes everything up to and including <s:Body>. extra, if not
// nil, writes additional header blocks.
func (r *response) start(action, relatesTo string, mu bool, extra func(*bytes.Buffer)) {
	b := r.buf
	b.WriteString(envelopeOpen)
	b.WriteString(`<s:Header><a:Action`)
	if mu {
		b.WriteString(muTrue)
	}
	b.WriteByte('>')
	escapeText(b, action)
	b.WriteString(`</a:Action><a:MessageID`)
	if mu {
		b.WriteString(muTrue)
	}
	b.WriteString(`>uuid:`)
	var id [36]byte
	hexUUID(id[:], newMessageUUID())
	b.Write(id[:])
	b.WriteString(`</a:MessageID><a:To>` + AddressAnonymous + `</a:To>`)
	if relatesTo != "" {
		b.WriteString(`<a:RelatesTo`)
		if mu {
			b.WriteString(muTrue)
		}
		b.WriteByte('>')
		escapeText(b, relatesTo)
		b.WriteString(`</a:RelatesTo>`)
	}
	if extra != nil {
		extra(b)
	}
	b.WriteString(bodyOpen)
}

// end closes the Body and the Envelope.
func (r *response) end() { r.buf.WriteString(envelopeEnd) }

// newMessageUUID returns a random (version 4) UUID for a response
// MessageID. It reads crypto/rand into a stack value: uuid.New does the
// same through an io.Reader, which costs an allocation and 3-4 times the
// time per response. uuid.EnableRandPool would be cheaper still, but it
// switches every user of the uuid package in the process to a pool of
// random bytes kept on the heap and must not be called while UUIDs are
// being generated, which a library cannot promise.
func newMessageUUID() uuid.UUID {
	var u uuid.UUID
	rand.Read(u[:])         // never fails (Go 1.24+: it crashes the program instead)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u
}

// hexUUID writes u in the canonical 8-4-4-4-12 upper-case form Windows
// uses, without allocating.
func hexUUID(dst []byte, u uuid.UUID) {
	const hex = "0123456789ABCDEF"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hex[c>>4]
		dst[j+1] = hex[c&0xf]
		j += 2
	}
}

// writeFault writes a complete fault envelope for f. relatesTo is the
// request's MessageID, "" when unknown.
func (r *response) writeFault(f *Fault, relatesTo string) {
	f.fill()
	r.start(f.Action, relatesTo, false, func(b *bytes.Buffer) {
		if nu := f.notUnderstood; nu != nil {
			// SOAP 1.2 Part 1 §5.4.8: one NotUnderstood block per header.
			prefix := nu.Space
			if prefix == "" || prefix == "s" || prefix == "xmlns" {
				prefix = "nu"
			}
			b.WriteString(`<s:NotUnderstood qname="` + prefix + `:`)
			escapeAttr(b, nu.Tag)
			b.WriteString(`" xmlns:` + prefix + `="`)
			escapeAttr(b, nu.NamespaceURI())
			b.WriteString(`"/>`)
		}
		if f.Code == CodeVersionMismatch {
			// SOAP 1.2 Part 1 §5.4.7: list the supported envelope.
			b.WriteString(`<s:Upgrade><s:SupportedEnvelope qname="s:Envelope"/></s:Upgrade>`)
		}
	})
	b := r.buf
	b.WriteString(`<s:Fault><s:Code><s:Value>`)
	b.WriteString(f.Code)
	b.WriteString(`</s:Value>`)
	if f.Subcode != "" {
		b.WriteString(`<s:Subcode><s:Value>`)
		escapeText(b, f.Subcode)
		b.WriteString(`</s:Value></s:Subcode>`)
	}
	b.WriteString(`</s:Code><s:Reason><s:Text xml:lang="en-US">`)
	escapeText(b, f.Reason)
	b.WriteString(`</s:Text></s:Reason>`)
	if d := f.DetailURI(); d != "" || f.wsmanCode != 0 || f.DetailElement != nil {
		b.WriteString(`<s:Detail>`)
		if d != "" {
			b.WriteString(`<w:FaultDetail>`)
			escapeText(b, d)
			b.WriteString(`</w:FaultDetail>`)
		}
		if f.wsmanCode != 0 {
			// The Windows extension pywinrm inspects (MS-WSMV §2.2.4.43).
			b.WriteString(`<f:WSManFault xmlns:f="` + NSWSManFault + `" Code="`)
			b.WriteString(strconv.FormatUint(uint64(f.wsmanCode), 10))
			b.WriteString(`"><f:Message>`)
			escapeText(b, f.Reason)
			b.WriteString(`</f:Message></f:WSManFault>`)
		}
		if f.DetailElement != nil {
			writeElement(b, f.DetailElement)
		}
		b.WriteString(`</s:Detail>`)
	}
	b.WriteString(`</s:Fault>`)
	r.end()
}

// writeEPRElement writes <tag>Address ReferenceParameters</tag> for epr,
// tag being a prefixed name such as "a:EndpointReference".
func writeEPRElement(b *bytes.Buffer, tag string, epr *EPR) {
	b.WriteByte('<')
	b.WriteString(tag)
	b.WriteByte('>')
	writeEPRContent(b, epr)
	b.WriteString("</")
	b.WriteString(tag)
	b.WriteByte('>')
}

// eprAddressOpen and eprParamsOpen start the two children of an EPR, and
// eprSelectorsOpen its SelectorSet. Each
// declares the prefixes it uses, although every response envelope does
// too: clients such as Debian's wsl paste the children of an EPR they got
// verbatim into requests whose envelope declares other prefixes (wsa:,
// wsman:), and the EPR must keep its meaning there.
const (
	eprAddressOpen = `<a:Address xmlns:a="` + NSAddressing + `">`
	eprParamsOpen  = `<a:ReferenceParameters xmlns:a="` + NSAddressing + `" xmlns:w="` + NSWSMan + `">`
	// wsl copies an EPR's SelectorSet alone into a request header.
	eprSelectorsOpen = `<w:SelectorSet xmlns:w="` + NSWSMan + `">`
)

// writeEPRContent writes a:Address and a:ReferenceParameters (the
// serialized form of AppendEPR, without building a tree).
func writeEPRContent(b *bytes.Buffer, epr *EPR) {
	addr := epr.Address
	if addr == "" {
		addr = AddressAnonymous
	}
	b.WriteString(eprAddressOpen)
	escapeText(b, addr)
	b.WriteString(`</a:Address>` + eprParamsOpen + `<w:ResourceURI>`)
	escapeText(b, epr.ResourceURI)
	b.WriteString(`</w:ResourceURI>`)
	if len(epr.Selectors) > 0 {
		b.WriteString(eprSelectorsOpen)
		for _, sel := range epr.Selectors {
			b.WriteString(`<w:Selector Name="`)
			escapeAttr(b, sel.Name)
			b.WriteString(`">`)
			if sel.EPR != nil {
				writeEPRElement(b, "a:EndpointReference", sel.EPR)
			} else {
				escapeText(b, sel.Value)
			}
			b.WriteString(`</w:Selector>`)
		}
		b.WriteString(`</w:SelectorSet>`)
	}
	b.WriteString(`</a:ReferenceParameters>`)
}

// writeBodyElement writes e (nil for nothing).
func writeBodyElement(b *bytes.Buffer, e *etree.Element) {
	if e != nil {
		writeElement(b, e)
	}
}
