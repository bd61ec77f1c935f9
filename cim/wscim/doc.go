// Package wscim maps CIM instances to and from XML in the DMTF WS-CIM form
// (DSP0230) that WS-Management carries: one element per instance, named
// after the class in the namespace of the class's ResourceURI, one child
// element per property, endpoint references (DSP0226/DSP0227 EPRs) for
// reference values, and cim:Datetime / cim:Interval wrappers for datetimes.
//
// Decoding is lenient the way real clients need: namespaces are matched by
// URI or ignored where clients disagree, QNames inside attribute values
// (xsi:type="cim:cimString") are not resolved, and a subclass unknown to
// the registry can be decoded into the class the caller expects (see
// DecodeOptions.Expect). Encoding follows Windows WinRM output where DSP0230
// leaves a choice (prefix "p", null arrays as one xsi:nil element). An
// Encoder remembers the per-class names between instances, for
// enumerations of many instances; EncodeInstance shares one.
//
// Imports: the standard library, github.com/beevik/etree, cim,
// cim/internal/xmlcim (what this package shares with the other XML
// encoding) and wsman/xsd (the XML Schema simple types, shared with wsman).
package wscim
