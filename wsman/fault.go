package wsman

import (
	"context"
	"errors"
	"strings"

	"github.com/beevik/etree"
)

// SOAP 1.2 fault codes (SOAP 1.2 Part 1 §5.4.6), with the prefix used on
// the wire.
const (
	CodeSender          = "s:Sender"
	CodeReceiver        = "s:Receiver"
	CodeMustUnderstand  = "s:MustUnderstand"
	CodeVersionMismatch = "s:VersionMismatch"
)

// Fault subcodes (DSP0226 §14, WS-Addressing, WS-Enumeration,
// WS-Transfer), spelled as Windows writes them: the prefix is part of what
// clients compare.
const (
	SubcodeActionNotSupported                = "a:ActionNotSupported"
	SubcodeDestinationUnreachable            = "a:DestinationUnreachable"
	SubcodeEndpointUnavailable               = "a:EndpointUnavailable"
	SubcodeInvalidMessageInformationHeader   = "a:InvalidMessageInformationHeader"
	SubcodeMessageInformationHeaderRequired  = "a:MessageInformationHeaderRequired"
	SubcodeAccessDenied                      = "w:AccessDenied"
	SubcodeAlreadyExists                     = "w:AlreadyExists"
	SubcodeCannotProcessFilterWSMan          = "w:CannotProcessFilter"
	SubcodeConcurrency                       = "w:Concurrency"
	SubcodeEncodingLimit                     = "w:EncodingLimit"
	SubcodeInternalError                     = "w:InternalError"
	SubcodeInvalidOptions                    = "w:InvalidOptions"
	SubcodeInvalidParameter                  = "w:InvalidParameter"
	SubcodeInvalidSelectors                  = "w:InvalidSelectors"
	SubcodeQuotaLimit                        = "w:QuotaLimit"
	SubcodeSchemaValidationError             = "w:SchemaValidationError"
	SubcodeTimedOut                          = "w:TimedOut"
	SubcodeUnsupportedFeature                = "w:UnsupportedFeature"
	SubcodeCannotProcessFilter               = "n:CannotProcessFilter"
	SubcodeFilterDialectRequestedUnavailable = "n:FilterDialectRequestedUnavailable"
	SubcodeFilteringNotSupported             = "n:FilteringNotSupported"
	SubcodeInvalidEnumerationContext         = "n:InvalidEnumerationContext"
	SubcodeInvalidExpirationTime             = "n:InvalidExpirationTime"
	SubcodeUnsupportedExpirationType         = "n:UnsupportedExpirationType"
	SubcodeEnumerationTimedOut               = "n:TimedOut"
	SubcodeInvalidRepresentation             = "x:InvalidRepresentation"

	// WS-Eventing (DSP0226 §10, §14.6) and the eventing faults of
	// WS-Management itself.
	SubcodeDeliveryModeRequestedUnavailable = "e:DeliveryModeRequestedUnavailable"
	SubcodeEventSourceUnableToProcess       = "e:EventSourceUnableToProcess"
	SubcodeEventingFilteringNotSupported    = "e:FilteringNotSupported"
	SubcodeFilteringRequestedUnavailable    = "e:FilteringRequestedUnavailable"
	SubcodeEventingInvalidExpirationTime    = "e:InvalidExpirationTime"
	SubcodeEventingInvalidMessage           = "e:InvalidMessage"
	SubcodeUnableToRenew                    = "e:UnableToRenew"
	SubcodeEventingUnsupportedExpiration    = "e:UnsupportedExpirationType"
	SubcodePolymorphismModeNotSupported     = "b:PolymorphismModeNotSupported"
	SubcodeInvalidBookmark                  = "w:InvalidBookmark"
	SubcodeDeliveryRefused                  = "w:DeliveryRefused"
)

// Fault detail names (DSP0226 §14.6); the wire form is FaultDetailPrefix +
// name. Spelled correctly (openwsman has typos such as AmbigousSelectors).
const (
	DetailAddressingMode        = "AddressingMode"
	DetailAlreadyExists         = "AlreadyExists"
	DetailAmbiguousSelectors    = "AmbiguousSelectors"
	DetailDuplicateMessageID    = "DuplicateMessageID"
	DetailDuplicateSelectors    = "DuplicateSelectors"
	DetailEnumerationMode       = "EnumerationMode"
	DetailExpirationTime        = "ExpirationTime"
	DetailFilteringRequired     = "FilteringRequired"
	DetailFragmentLevelAccess   = "FragmentLevelAccess"
	DetailInsufficientSelectors = "InsufficientSelectors"
	DetailInvalidFormat         = "InvalidFormat"
	DetailInvalidName           = "InvalidName"
	DetailInvalidNamespace      = "InvalidNamespace"
	DetailInvalidResourceURI    = "InvalidResourceURI"
	DetailInvalidValue          = "InvalidValue"
	DetailLocale                = "Locale"
	DetailMaxElements           = "MaxElements"
	DetailMaxEnvelopeSize       = "MaxEnvelopeSize"
	DetailMinimumEnvelopeLimit  = "MinimumEnvelopeLimit"
	DetailMissingValues         = "MissingValues"
	DetailNotSupported          = "NotSupported"
	DetailOperationTimeout      = "OperationTimeout"
	DetailServiceEnvelopeLimit  = "ServiceEnvelopeLimit"
	DetailTypeMismatch          = "TypeMismatch"
	DetailUnexpectedSelectors   = "UnexpectedSelectors"

	// Eventing details (DSP0226 §14.6).
	DetailAuthorizationMode = "AuthorizationMode"
	DetailBookmarks         = "Bookmarks"
	DetailDeliveryRetries   = "DeliveryRetries"
	DetailExpired           = "Expired"
	DetailHeartbeats        = "Heartbeats"
	DetailInsecureAddress   = "InsecureAddress"
	DetailInvalid           = "Invalid"
	DetailInvalidAddress    = "InvalidAddress"
)

// Fault is a WS-Management fault (DSP0226 §14). It is both what a resource
// returns to ask for a specific fault and what the service writes: a SOAP
// 1.2 Code/Subcode/Reason/Detail with the fault Action of the subcode's
// specification, sent with HTTP status 500 as Windows does.
type Fault struct {
	Code    string // CodeSender, CodeReceiver, ...; from the table when empty
	Subcode string // prefixed QName such as SubcodeInvalidSelectors; empty for MustUnderstand/VersionMismatch
	Reason  string // human-readable text (s:Reason, xml:lang en-US); table default when empty
	Detail  string // a Detail* name or a full URI; empty for none
	Action  string // fault Action URI; from the table when empty

	// DetailElement, when set, is appended to s:Detail after the
	// wsman:FaultDetail (a CIM_Error instance, DSP0227 §14).
	DetailElement *etree.Element

	// notUnderstood is the header that caused a MustUnderstand fault.
	notUnderstood *etree.Element
	// wsmanCode is the Windows WSManFault Code, 0 for none.
	wsmanCode uint32
	// Err is the cause, for logs; never sent.
	Err error
}

// NewFault returns a fault for subcode with the table's code, reason and
// action; detail and reason may be empty.
func NewFault(subcode, detail, reason string) *Fault {
	f := &Fault{Subcode: subcode, Detail: detail, Reason: reason}
	f.fill()
	return f
}

func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("wsman: ")
	if f.Subcode != "" {
		b.WriteString(f.Subcode)
	} else {
		b.WriteString(f.Code)
	}
	if f.Detail != "" {
		b.WriteString(" (")
		b.WriteString(strings.TrimPrefix(f.Detail, FaultDetailPrefix))
		b.WriteString(")")
	}
	if f.Reason != "" {
		b.WriteString(": ")
		b.WriteString(f.Reason)
	}
	return b.String()
}

// Unwrap returns the cause.
func (f *Fault) Unwrap() error { return f.Err }

// DetailURI is the wsman:FaultDetail text, or "" when the fault has none.
func (f *Fault) DetailURI() string {
	if f.Detail == "" || strings.Contains(f.Detail, ":") {
		return f.Detail
	}
	return FaultDetailPrefix + f.Detail
}

type faultInfo struct {
	code, action, reason string
}

// faultTable maps each subcode to its SOAP code, fault Action and default
// reason (DSP0226 §14.6 and the WS-* specifications). Reasons follow the
// texts of DSP0226 and Windows.
var faultTable = map[string]faultInfo{
	SubcodeActionNotSupported:                {CodeSender, ActionFaultAddressing, "The action is not supported by the service."},
	SubcodeDestinationUnreachable:            {CodeSender, ActionFaultAddressing, "No route can be determined to reach the destination role defined by the WS-Addressing To."},
	SubcodeEndpointUnavailable:               {CodeReceiver, ActionFaultAddressing, "The specified endpoint is currently unavailable."},
	SubcodeInvalidMessageInformationHeader:   {CodeSender, ActionFaultAddressing, "A message information header is not valid and the message cannot be processed."},
	SubcodeMessageInformationHeaderRequired:  {CodeSender, ActionFaultAddressing, "A required message information header, To, MessageID, Action or ReplyTo, is not present."},
	SubcodeAccessDenied:                      {CodeSender, ActionFaultWSMan, "The sender was not authorized to access the resource."},
	SubcodeAlreadyExists:                     {CodeSender, ActionFaultWSMan, "The sender attempted to create a resource which already exists."},
	SubcodeCannotProcessFilterWSMan:          {CodeSender, ActionFaultWSMan, "The requested filter could not be processed."},
	SubcodeConcurrency:                       {CodeSender, ActionFaultWSMan, "The action could not be completed due to concurrency or locking problems."},
	SubcodeEncodingLimit:                     {CodeSender, ActionFaultWSMan, "An internal encoding limit was exceeded in a request or would be violated if the message were processed."},
	SubcodeInternalError:                     {CodeReceiver, ActionFaultWSMan, "The service cannot comply with the request due to internal processing errors."},
	SubcodeInvalidOptions:                    {CodeSender, ActionFaultWSMan, "One or more options are not valid."},
	SubcodeInvalidParameter:                  {CodeSender, ActionFaultWSMan, "An operation parameter is not valid."},
	SubcodeInvalidSelectors:                  {CodeSender, ActionFaultWSMan, "The selectors for the resource are not valid."},
	SubcodeQuotaLimit:                        {CodeSender, ActionFaultWSMan, "The service is busy servicing other requests."},
	SubcodeSchemaValidationError:             {CodeSender, ActionFaultWSMan, "The supplied SOAP violates the corresponding XML schema definition."},
	SubcodeTimedOut:                          {CodeReceiver, ActionFaultWSMan, "The operation has timed out."},
	SubcodeUnsupportedFeature:                {CodeSender, ActionFaultWSMan, "The specified feature is not supported."},
	SubcodeCannotProcessFilter:               {CodeSender, ActionFaultEnumeration, "The requested filter could not be processed."},
	SubcodeFilterDialectRequestedUnavailable: {CodeSender, ActionFaultEnumeration, "The requested filtering dialect is not supported."},
	SubcodeFilteringNotSupported:             {CodeSender, ActionFaultEnumeration, "Filtered enumeration is not supported."},
	SubcodeInvalidEnumerationContext:         {CodeReceiver, ActionFaultEnumeration, "The supplied enumeration context is invalid."},
	SubcodeInvalidExpirationTime:             {CodeSender, ActionFaultEnumeration, "The expiration time is not valid."},
	SubcodeUnsupportedExpirationType:         {CodeSender, ActionFaultEnumeration, "The specified expiration type is not supported."},
	SubcodeEnumerationTimedOut:               {CodeReceiver, ActionFaultEnumeration, "The enumerator has timed out and is no longer valid."},
	SubcodeInvalidRepresentation:             {CodeSender, ActionFaultTransfer, "The XML content is not valid."},

	SubcodeDeliveryModeRequestedUnavailable: {CodeSender, ActionFaultEventing, "The requested delivery mode is not supported."},
	SubcodeEventSourceUnableToProcess:       {CodeReceiver, ActionFaultEventing, "The event source cannot process the subscription."},
	SubcodeEventingFilteringNotSupported:    {CodeSender, ActionFaultEventing, "Filtering over the event source is not supported."},
	SubcodeFilteringRequestedUnavailable:    {CodeSender, ActionFaultEventing, "The requested filter dialect is not supported."},
	SubcodeEventingInvalidExpirationTime:    {CodeSender, ActionFaultEventing, "The expiration time requested is invalid."},
	SubcodeEventingInvalidMessage:           {CodeSender, ActionFaultEventing, "The request message has unknown or invalid content and cannot be processed."},
	SubcodeUnableToRenew:                    {CodeReceiver, ActionFaultEventing, "The subscription could not be renewed."},
	SubcodeEventingUnsupportedExpiration:    {CodeSender, ActionFaultEventing, "Only expiration durations and date-times are supported."},
	SubcodePolymorphismModeNotSupported:     {CodeSender, ActionFaultCIMBinding, "The requested PolymorphismMode is not supported."},
	SubcodeInvalidBookmark:                  {CodeSender, ActionFaultWSMan, "The bookmark supplied with the subscription is not valid."},
	SubcodeDeliveryRefused:                  {CodeReceiver, ActionFaultWSMan, "The receiver refuses to accept delivery of events and requests that the subscription be canceled."},
}

// fill completes Code, Action and Reason from the table.
func (f *Fault) fill() {
	info, ok := faultTable[f.Subcode]
	if !ok {
		switch f.Code {
		case CodeMustUnderstand:
			info = faultInfo{CodeMustUnderstand, ActionFaultSOAP, "The WS-Management service cannot process a SOAP header in the request that is marked as mustUnderstand by the client."}
		case CodeVersionMismatch:
			info = faultInfo{CodeVersionMismatch, ActionFaultSOAP, "The SOAP envelope is not a SOAP 1.2 envelope."}
		default:
			info = faultTable[SubcodeInternalError]
			if f.Subcode == "" {
				f.Subcode = SubcodeInternalError
			}
		}
	}
	if f.Code == "" {
		f.Code = info.code
	}
	if f.Action == "" {
		f.Action = info.action
	}
	if f.Reason == "" {
		f.Reason = info.reason
	}
	if f.Subcode == SubcodeTimedOut && f.wsmanCode == 0 {
		f.wsmanCode = 2150858793 // ERROR_WSMAN_OPERATION_TIMEDOUT; pywinrm keys on it
	}
}

// Sentinel errors a resource may return (wrapped with %w) instead of
// building a Fault. errorFaults maps each to its fault.
var (
	ErrNotFound              = errors.New("wsman: resource not found")
	ErrAlreadyExists         = errors.New("wsman: resource already exists")
	ErrAccessDenied          = errors.New("wsman: access denied")
	ErrInvalidParameter      = errors.New("wsman: invalid parameter")
	ErrActionNotSupported    = errors.New("wsman: action not supported")
	ErrQuotaLimit            = errors.New("wsman: quota limit")
	ErrConcurrency           = errors.New("wsman: concurrency conflict")
	ErrUnsupportedFeature    = errors.New("wsman: unsupported feature")
	ErrInvalidRepresentation = errors.New("wsman: invalid representation")
	ErrCannotProcessFilter   = errors.New("wsman: cannot process filter")
)

// errorFaults is the one table from sentinel errors to faults.
var errorFaults = []struct {
	err     error
	subcode string
}{
	{ErrNotFound, SubcodeDestinationUnreachable},
	{ErrAlreadyExists, SubcodeAlreadyExists},
	{ErrAccessDenied, SubcodeAccessDenied},
	{ErrInvalidParameter, SubcodeInvalidParameter},
	{ErrActionNotSupported, SubcodeActionNotSupported},
	{ErrQuotaLimit, SubcodeQuotaLimit},
	{ErrConcurrency, SubcodeConcurrency},
	{ErrUnsupportedFeature, SubcodeUnsupportedFeature},
	{ErrInvalidRepresentation, SubcodeInvalidRepresentation},
	{ErrCannotProcessFilter, SubcodeCannotProcessFilter},
	{context.DeadlineExceeded, SubcodeTimedOut},
}

// AsFault converts any error a resource returned into the fault to send.
// A *Fault anywhere in the chain wins; then the sentinel table (the
// error's text becomes the reason, since resources write it for clients);
// anything else is wsman:InternalError with the default reason, so that
// internals do not leak (internal reports whether to log it).
func AsFault(err error) (f *Fault, internal bool) {
	var ff *Fault
	if errors.As(err, &ff) {
		ff.fill()
		return ff, false
	}
	for _, e := range errorFaults {
		if errors.Is(err, e.err) {
			reason := strings.TrimPrefix(err.Error(), "wsman: ")
			if e.err == context.DeadlineExceeded {
				reason = ""
			}
			f = NewFault(e.subcode, "", reason)
			f.Err = err
			return f, false
		}
	}
	if errors.Is(err, context.Canceled) {
		f = NewFault(SubcodeTimedOut, "", "The operation was canceled.")
		f.Err = err
		return f, false
	}
	f = NewFault(SubcodeInternalError, "", "")
	f.Err = err
	return f, true
}
