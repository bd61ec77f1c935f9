package wsman

// identify writes the IdentifyResponse (DSP0226 §11). Like Windows and
// openwsman the response has an empty header. Anonymous callers get an
// empty ProductVersion (Windows zeroes it). Capability_FaultIncludesCIMError
// tells CIM clients (Windows MI, as OMI does) that faults may carry a
// CIM_Error.
func (s *Service) identify(r *response, caller Caller) {
	b := r.buf
	b.WriteString(envelopeOpen)
	b.WriteString(`<s:Header/><s:Body><wsmid:IdentifyResponse xmlns:wsmid="` + NSIdentity + `">`)
	b.WriteString(`<wsmid:ProtocolVersion>` + ProtocolVersion + `</wsmid:ProtocolVersion>`)
	b.WriteString(`<wsmid:ProductVendor>`)
	escapeText(b, s.cfg.ProductVendor)
	b.WriteString(`</wsmid:ProductVendor><wsmid:ProductVersion>`)
	if !caller.Anonymous {
		escapeText(b, s.cfg.ProductVersion)
	}
	b.WriteString(`</wsmid:ProductVersion>`)
	if len(s.cfg.SecurityProfiles) > 0 {
		b.WriteString(`<wsmid:SecurityProfiles>`)
		for _, p := range s.cfg.SecurityProfiles {
			b.WriteString(`<wsmid:SecurityProfileName>`)
			escapeText(b, p)
			b.WriteString(`</wsmid:SecurityProfileName>`)
		}
		b.WriteString(`</wsmid:SecurityProfiles>`)
	}
	b.WriteString(`<b:Capability_FaultIncludesCIMError/>`)
	b.WriteString(`</wsmid:IdentifyResponse>`)
	r.end()
}
