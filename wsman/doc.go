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
// Imports: the standard library, github.com/beevik/etree, golang.org/x/*,
// github.com/google/uuid and wsman/wql. Never cim or migrate.
package wsman
