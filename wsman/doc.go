// Package wsman implements a WS-Management service (DMTF DSP0226 with the
// DSP0227 CIM binding conventions): SOAP 1.2 envelopes, WS-Addressing,
// WS-Transfer, WS-Enumeration, Identify, Invoke and the fault model, and the
// HTTP transport that carries them.
//
// The package knows no CIM class. A Service dispatches each request by
// ResourceURI to a resource registered with Service.Handle; what a resource
// can do is discovered by type assertion against the small interfaces in
// api.go (Getter, Putter, Creator, Deleter, Enumerator, Invoker). The
// service owns everything protocol-shaped: header validation, enumeration
// contexts, batching, envelope-size limits, timeouts and faults.
//
// # Request processing
//
// Service.ServeSOAP parses in two stages. The document is read into a tree
// with hard limits (no DTD, no processing instructions, depth 256, 50000
// elements, declared prefixes only): a fast reader takes the plain XML
// real clients send, and anything else, errors included, is read again by
// a strict reader built on encoding/xml, which has the last word (see
// parseDocument). Then the SOAP Header is decoded and checked, in this
// order: mustUnderstand (s:MustUnderstand with an s:NotUnderstood
// header), Identify (answered for anyone), anonymous
// callers (wsman:AccessDenied), required Action/MessageID/ReplyTo
// (wsa:MessageInformationHeaderRequired), anonymous ReplyTo/FaultTo
// (wsman:UnsupportedFeature/AddressingMode), ResourceURI
// (wsa:DestinationUnreachable/InvalidResourceURI), header values
// (MaxEnvelopeSize, OperationTimeout, Locale, SelectorSet, OptionSet),
// duplicate MessageID, resource lookup. Only then is the Body decoded for
// the operation named by wsa:Action.
//
// # Decisions where clients and implementations differ
//
//   - Every fault is sent with HTTP status 500, as Windows does.
//   - A document that is not well-formed XML, has a DTD, or is not valid
//     UTF-8, and an envelope without a Body, get wsman:SchemaValidationError;
//     a document beyond the parser limits gets wsman:EncodingLimit. A root
//     element outside the SOAP 1.2 namespace (SOAP 1.1 included) gets
//     s:VersionMismatch with an s:Upgrade header.
//   - wsa:To is neither required nor validated (pywinrm hard-codes it).
//   - mustUnderstand is honoured qualified or unqualified (pywinrm,
//     masterzen/winrm); Microsoft headers with mustUnderstand="false" are
//     ignored.
//   - Without wsman:MaxEnvelopeSize the limit is Config.DefaultEnvelopeSize;
//     a larger client value is lowered to Config.MaxEnvelopeSize.
//   - Enumeration contexts keep one identifier across Pulls. A Pull or
//     Release from another user or with another ResourceURI than the
//     Enumerate gets wsen:InvalidEnumerationContext, like an unknown
//     context. A finished optimized EnumerateResponse carries an empty
//     EnumerationContext (the schema requires the element; clients loop
//     while it is non-empty) and wsman:EndOfSequence; the last PullResponse
//     has no context and wsen:EndOfSequence. The context always precedes
//     the items.
//   - Responses use the prefixes s a w n x b p xsi cim and upper-case uuid:
//     MessageIDs, with mustUnderstand="true" on Action, MessageID and
//     RelatesTo, like Windows.
//
// Imports: the standard library, github.com/beevik/etree, golang.org/x/*,
// github.com/google/uuid, wsman/wql, wsman/xsd (xs:duration, shared with
// cim) and wsman/auth (the HTTP handler authenticates). Never cim or
// migrate.
package wsman
