package wsman

import (
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// envelope is a decoded request: the Request handed to resources plus what
// the service itself needs from the SOAP header. decodeEnvelope fills it in
// the first stage (header only); the Body is decoded per operation later.
type envelope struct {
	req Request

	header *etree.Element // s:Header, nil if absent
	body   *etree.Element // s:Body

	identify bool // the Body is wsmid:Identify

	hasAction, hasMessageID, hasReplyTo, hasResourceURI bool
	replyTo                                             string
	faultTo                                             string
	hasFaultTo                                          bool

	// identifier is the wse:Identifier reference parameter of a Renew,
	// GetStatus or Unsubscribe (DSP0226 §10.3-10.5).
	identifier string
	// issuedTokens is the wst:IssuedTokens header of a Subscribe: the
	// credentials for its NotifyTo and EndTo (DSP0226 §10.2.2).
	issuedTokens *etree.Element

	maxEnvelope     int // client's wsman:MaxEnvelopeSize, 0 when absent
	hasOpTimeout    bool
	requestEstimate bool // wsman:RequestTotalItemsCountEstimate

	// notUnderstood is the first header the service does not understand
	// that is marked mustUnderstand (SOAP 1.2 Part 1 §5.2.3).
	notUnderstood *etree.Element
	// headerFault is the first problem found in a known header's value;
	// it is reported after the required-header checks (validate).
	headerFault *Fault
}

// decodeEnvelope checks the envelope structure and decodes the SOAP
// header (stage one). The returned fault is already complete; env may be
// partly filled (MessageID) when a fault is returned.
func decodeEnvelope(root *etree.Element) (*envelope, *Fault) {
	switch ns := root.NamespaceURI(); {
	case ns == NSSOAP11 || ns != NSSOAP12:
		// SOAP 1.2 Part 1 §5.4.7: an envelope in another namespace is
		// a VersionMismatch; we answer in SOAP 1.2 with an Upgrade header.
		return nil, &Fault{Code: CodeVersionMismatch, Reason: "The service supports SOAP 1.2 envelopes only (namespace " + NSSOAP12 + ")."}
	case root.Tag != "Envelope":
		return nil, NewFault(SubcodeSchemaValidationError, "", "The root element is not a SOAP Envelope.")
	}
	env := &envelope{}
	for _, t := range root.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		switch {
		case is(c, NSSOAP12, "Header") && env.header == nil && env.body == nil:
			env.header = c
		case is(c, NSSOAP12, "Body") && env.body == nil:
			env.body = c
		default:
			return env, NewFault(SubcodeSchemaValidationError, "", "Unexpected element <"+c.FullTag()+"> in the SOAP Envelope.")
		}
	}
	if env.header != nil {
		env.decodeHeader()
	}
	if env.body == nil {
		return env, NewFault(SubcodeSchemaValidationError, "", "The SOAP Envelope has no Body.")
	}
	env.req.Body = firstChild(env.body)
	env.identify = is(env.req.Body, NSIdentity, "Identify")
	return env, nil
}

// decodeHeader reads each header block into env.
func (env *envelope) decodeHeader() {
	req := &env.req
	var seen uint64 // bit per known header (headerBit), to detect repeats
	for _, t := range env.header.Child {
		h, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		ns := h.NamespaceURI()
		switch ns {
		case NSAddressing:
			switch h.Tag {
			case "To":
				req.To = trimmedText(h)
			case "Action":
				env.hasAction = true
				req.Action = trimmedText(h)
			case "MessageID":
				env.hasMessageID = true
				req.MessageID = trimmedText(h)
			case "ReplyTo":
				env.hasReplyTo = true
				env.replyTo = trimmedText(child(h, NSAddressing, "Address"))
			case "FaultTo":
				env.hasFaultTo = true
				env.faultTo = trimmedText(child(h, NSAddressing, "Address"))
			case "From", "RelatesTo":
				// Understood and ignored.
			default:
				env.unknown(h)
				continue
			}
		case NSWSMan:
			switch h.Tag {
			case "ResourceURI":
				env.hasResourceURI = true
				req.ResourceURI = trimmedText(h)
			case "SelectorSet":
				sel, f := decodeSelectorSet(h, maxEPRDepth)
				if f == nil {
					f = sel.checkDuplicates()
				}
				env.setFault(f)
				req.Selectors = sel
			case "MaxEnvelopeSize":
				n, err := strconv.Atoi(trimmedText(h))
				if err != nil || n <= 0 {
					env.setFault(NewFault(SubcodeInvalidMessageInformationHeader, DetailMaxEnvelopeSize, "The wsman:MaxEnvelopeSize value is not a positive integer."))
				} else if n < minEnvelopeSize {
					env.setFault(NewFault(SubcodeEncodingLimit, DetailMinimumEnvelopeLimit, "The wsman:MaxEnvelopeSize is below the minimum of 8192 octets."))
				} else {
					env.maxEnvelope = n
				}
			case "OperationTimeout":
				d, ok := operationTimeout(trimmedText(h))
				if !ok {
					env.setFault(NewFault(SubcodeInvalidMessageInformationHeader, DetailOperationTimeout, "The wsman:OperationTimeout value is not a non-negative xs:duration."))
				} else {
					env.hasOpTimeout = true
					req.OperationTimeout = d
				}
			case "Locale":
				req.Locale = xmlLang(h)
				if mustUnderstand(h) {
					env.setFault(NewFault(SubcodeUnsupportedFeature, DetailLocale, "The service does not honour wsman:Locale with mustUnderstand=\"true\"."))
				}
			case "DataLocale":
				env.dataLocale(h)
			case "OptionSet":
				opts, f := decodeOptionSet(h)
				env.setFault(f)
				req.Options = opts
			case "FragmentTransfer":
				if mustUnderstand(h) {
					env.setFault(NewFault(SubcodeUnsupportedFeature, DetailFragmentLevelAccess, "Fragment-level access is not supported."))
				}
			case "RequestTotalItemsCountEstimate":
				env.requestEstimate = true
			case "RequestEPR":
				// Understood; Put/Create responses carry the representation.
			default:
				env.unknown(h)
				continue
			}
		case NSEventing:
			if h.Tag != "Identifier" {
				env.unknown(h)
				continue
			}
			env.identifier = trimmedText(h)
		case NSTrust:
			if h.Tag != "IssuedTokens" {
				env.unknown(h)
				continue
			}
			env.issuedTokens = h
		case NSMicrosoft:
			switch h.Tag {
			case "DataLocale":
				env.dataLocale(h)
			case "SessionId", "OperationID", "SequenceId", "ActivityId":
				// Windows client bookkeeping (MS-WSMV §2.2.4), ignored.
			default:
				env.unknown(h)
				continue
			}
		default:
			env.unknown(h)
			continue
		}
		bit := headerBit(ns, h.Tag)
		if seen&bit != 0 {
			env.setFault(NewFault(SubcodeInvalidMessageInformationHeader, "", "The header "+h.Tag+" appears more than once."))
		}
		seen |= bit
	}
}

// knownHeaders lists the header blocks decodeHeader understands, in a
// fixed order that gives each a bit.
var knownHeaders = [...]struct{ ns, local string }{
	{NSAddressing, "To"}, {NSAddressing, "Action"}, {NSAddressing, "MessageID"},
	{NSAddressing, "ReplyTo"}, {NSAddressing, "FaultTo"}, {NSAddressing, "From"},
	{NSAddressing, "RelatesTo"}, {NSWSMan, "ResourceURI"}, {NSWSMan, "SelectorSet"},
	{NSWSMan, "MaxEnvelopeSize"}, {NSWSMan, "OperationTimeout"}, {NSWSMan, "Locale"},
	{NSWSMan, "DataLocale"}, {NSWSMan, "OptionSet"}, {NSWSMan, "FragmentTransfer"},
	{NSWSMan, "RequestTotalItemsCountEstimate"}, {NSWSMan, "RequestEPR"},
	{NSMicrosoft, "DataLocale"}, {NSMicrosoft, "SessionId"}, {NSMicrosoft, "OperationID"},
	{NSMicrosoft, "SequenceId"}, {NSMicrosoft, "ActivityId"},
	{NSEventing, "Identifier"}, {NSTrust, "IssuedTokens"},
}

// headerBit returns the bit of a known header block, 0 for others.
func headerBit(ns, local string) uint64 {
	for i, h := range knownHeaders {
		if h.local == local && h.ns == ns {
			return 1 << i
		}
	}
	return 0
}

// unknown records a header the service does not process. Only those marked
// mustUnderstand matter; Microsoft headers with mustUnderstand="false" are
// ignored as SOAP requires.
func (env *envelope) unknown(h *etree.Element) {
	if env.notUnderstood == nil && mustUnderstand(h) {
		env.notUnderstood = h
	}
}

func (env *envelope) dataLocale(h *etree.Element) {
	env.req.DataLocale = xmlLang(h)
	if mustUnderstand(h) {
		env.setFault(NewFault(SubcodeUnsupportedFeature, DetailLocale, "The service does not honour DataLocale with mustUnderstand=\"true\"."))
	}
}

func (env *envelope) setFault(f *Fault) {
	if f != nil && env.headerFault == nil {
		env.headerFault = f
	}
}

// xmlLang returns the xml:lang attribute of e.
func xmlLang(e *etree.Element) string {
	for _, a := range e.Attr {
		if a.Space == "xml" && a.Key == "lang" {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// decodeOptionSet reads wsman:OptionSet (DSP0226 §6.4). Resources must
// fault with wsman:InvalidOptions for an option marked MustComply that
// they cannot honour.
func decodeOptionSet(e *etree.Element) ([]Option, *Fault) {
	var opts []Option
	for _, t := range e.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		if !is(c, NSWSMan, "Option") {
			return nil, NewFault(SubcodeInvalidOptions, "", "The OptionSet contains an element that is not a wsman:Option.")
		}
		name, _ := attr(c, "", "Name")
		if name == "" {
			return nil, NewFault(SubcodeInvalidOptions, DetailInvalidName, "A wsman:Option has no Name.")
		}
		typ, _ := attr(c, "", "Type")
		mc, _ := attr(c, "", "MustComply")
		opts = append(opts, Option{Name: name, Value: textOf(c), Type: typ, MustComply: isTrue(mc)})
	}
	return opts, nil
}

// minEnvelopeSize is the smallest wsman:MaxEnvelopeSize accepted
// (DSP0226 R6.2-4).
const minEnvelopeSize = 8192

// validate applies the WS-Addressing and WS-Management header rules after
// Identify has been ruled out, in the order of openwsman's inbound filter
// chain: required headers, addressing mode, then header values.
func (env *envelope) validate() *Fault {
	switch {
	case !env.hasAction || env.req.Action == "":
		return NewFault(SubcodeMessageInformationHeaderRequired, "", "The request has no wsa:Action.")
	case !env.hasMessageID:
		return NewFault(SubcodeMessageInformationHeaderRequired, "", "The request has no wsa:MessageID.")
	case env.req.MessageID == "":
		return NewFault(SubcodeInvalidMessageInformationHeader, "", "The wsa:MessageID is empty.")
	case !env.hasReplyTo:
		return NewFault(SubcodeMessageInformationHeaderRequired, "", "The request has no wsa:ReplyTo.")
	case !isAnonymous(env.replyTo):
		return NewFault(SubcodeUnsupportedFeature, DetailAddressingMode, "Only the anonymous wsa:ReplyTo address is supported.")
	case env.hasFaultTo && !isAnonymous(env.faultTo):
		return NewFault(SubcodeUnsupportedFeature, DetailAddressingMode, "Only the anonymous wsa:FaultTo address is supported.")
	case !env.hasResourceURI || env.req.ResourceURI == "":
		return NewFault(SubcodeDestinationUnreachable, DetailInvalidResourceURI, "The request has no wsman:ResourceURI.")
	}
	return env.headerFault
}

// isAnonymous reports whether addr is the anonymous endpoint of
// WS-Addressing 2004/08 (what WS-Management uses) or of WS-Addressing 1.0.
func isAnonymous(addr string) bool {
	return addr == AddressAnonymous || addr == "http://www.w3.org/2005/08/addressing/anonymous"
}

// effectiveTimeout returns the deadline budget for the operation: the
// client's OperationTimeout capped at max, or max when absent.
func (env *envelope) effectiveTimeout(max time.Duration) time.Duration {
	if env.hasOpTimeout && env.req.OperationTimeout < max {
		return env.req.OperationTimeout
	}
	return max
}
