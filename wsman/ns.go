package wsman

// Namespace URIs (DSP0226 §4.3 Table 1, DSP0227 §5). Elements are always
// matched by namespace URI, never by prefix: clients use s/env/soap, a/wsa,
// w/wsman interchangeably, and some use a default namespace.
const (
	NSSOAP12       = "http://www.w3.org/2003/05/soap-envelope"
	NSSOAP11       = "http://schemas.xmlsoap.org/soap/envelope/"
	NSAddressing   = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSWSMan        = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	NSEnumeration  = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	NSTransfer     = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	NSIdentity     = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	NSCIMBinding   = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	NSMicrosoft    = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	NSXSI          = "http://www.w3.org/2001/XMLSchema-instance"
	NSXS           = "http://www.w3.org/2001/XMLSchema"
	NSCIMCommon    = "http://schemas.dmtf.org/wbem/wscim/1/common"
	NSXML          = "http://www.w3.org/XML/1998/namespace"
	NSWSManFault   = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	NSEventing     = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
	NSWSManSecProf = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile"
	NSTrust        = "http://schemas.xmlsoap.org/ws/2005/02/trust"
	NSSecExt       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSPolicy       = "http://schemas.xmlsoap.org/ws/2004/09/policy"
)

// AddressAnonymous is the WS-Addressing anonymous endpoint: the only ReplyTo
// this service answers to (responses travel back on the HTTP connection).
const AddressAnonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

// ProtocolVersion is the wsmid:ProtocolVersion reported by Identify.
const ProtocolVersion = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"

// Actions (DSP0226 §7 WS-Transfer, §8 WS-Enumeration). A response Action is
// the request Action + "Response" (DSP0226 R7.1-?, R8.1-?; also for custom
// actions, DSP0227 §11).
const (
	ActionGet       = NSTransfer + "/Get"
	ActionPut       = NSTransfer + "/Put"
	ActionCreate    = NSTransfer + "/Create"
	ActionDelete    = NSTransfer + "/Delete"
	ActionEnumerate = NSEnumeration + "/Enumerate"
	ActionPull      = NSEnumeration + "/Pull"
	ActionRelease   = NSEnumeration + "/Release"
	ActionIdentify  = NSIdentity + "/Identify" // never sent on the wire; used in RequestInfo

	// WS-Eventing (DSP0226 §10).
	ActionSubscribe       = NSEventing + "/Subscribe"
	ActionRenew           = NSEventing + "/Renew"
	ActionGetStatus       = NSEventing + "/GetStatus"
	ActionUnsubscribe     = NSEventing + "/Unsubscribe"
	ActionSubscriptionEnd = NSEventing + "/SubscriptionEnd"
	// Event messages (DSP0226 §10.2.5-10.2.9): the default Action of an
	// event, the heartbeat pseudo-event, the dropped-events marker, a
	// batch of events, and the acknowledgement a receiver answers with.
	ActionEvent         = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Event"
	ActionHeartbeat     = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat"
	ActionDroppedEvents = "http://schemas.dmtf.org/wbem/wsman/1/wsman/DroppedEvents"
	ActionEvents        = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events"
	ActionAck           = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack"

	responseSuffix = "Response"
)

// Fault actions (DSP0226 §14.5, WS-Addressing §5.3, WS-Enumeration §5).
const (
	ActionFaultAddressing  = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault"
	ActionFaultWSMan       = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	ActionFaultEnumeration = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault"
	ActionFaultTransfer    = "http://schemas.xmlsoap.org/ws/2004/09/transfer/fault"
	ActionFaultCIMBinding  = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/fault"
	ActionFaultEventing    = "http://schemas.xmlsoap.org/ws/2004/08/eventing/fault"
	ActionFaultSOAP        = ActionFaultAddressing // MustUnderstand, VersionMismatch
)

// FaultDetailPrefix starts every wsman:FaultDetail URI (DSP0226 §14.6).
const FaultDetailPrefix = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"

// Output prefixes are chosen like Windows WinRM (s a w n x e b p xsi cim)
// because clients compare the prefixed fault subcode text
// ("w:InvalidSelectors") and some scrape output with regular expressions.
// Every response envelope declares all of them on its root element, so
// resource output may use a:, w:, xsi: and cim: freely.
// rootNamespaces is the namespace declaration list written on every response
// envelope, in this order.
const rootNamespaces = ` xmlns:s="` + NSSOAP12 +
	`" xmlns:a="` + NSAddressing +
	`" xmlns:w="` + NSWSMan +
	`" xmlns:n="` + NSEnumeration +
	`" xmlns:x="` + NSTransfer +
	`" xmlns:e="` + NSEventing +
	`" xmlns:b="` + NSCIMBinding +
	`" xmlns:p="` + NSMicrosoft +
	`" xmlns:xsi="` + NSXSI +
	`" xmlns:cim="` + NSCIMCommon + `"`
