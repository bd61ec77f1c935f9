package wsman

import (
	"context"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/wql"
)

// Caller describes who sent a request, as established by the transport.
type Caller struct {
	// User is the authenticated user name; empty when Anonymous.
	User string
	// Anonymous is set for unauthenticated requests (the anonymous Identify
	// endpoint); a Service answers only Identify for them.
	Anonymous bool
	// RemoteAddr is the peer address, for logs.
	RemoteAddr string
}

// Selector is one wsman:Selector: a name and either a text value or, for a
// reference-valued key, a nested endpoint reference.
type Selector struct {
	Name  string
	Value string
	EPR   *EPR
}

// SelectorSet is the wsman:SelectorSet of a request or EPR, in wire order.
// Names are compared case-insensitively (DSP0226 R5.1.2.2-1, Windows MUST).
type SelectorSet []Selector

// Get returns the selector named name (case-insensitive).
func (s SelectorSet) Get(name string) (Selector, bool) {
	for _, sel := range s {
		if equalFold(sel.Name, name) {
			return sel, true
		}
	}
	return Selector{}, false
}

// Value returns the text value of the selector named name, or "".
func (s SelectorSet) Value(name string) string {
	sel, _ := s.Get(name)
	return sel.Value
}

// EPR is a WS-Addressing endpoint reference in the WS-Management form:
// an address plus ResourceURI and SelectorSet reference parameters.
type EPR struct {
	Address     string // AddressAnonymous when empty
	ResourceURI string
	Selectors   SelectorSet
}

// Option is one wsman:Option of an OptionSet.
type Option struct {
	Name, Value, Type string
	MustComply        bool
}

// Request is a decoded WS-Management request as handed to a resource.
// Resources must not modify it. Its strings and the Body tree may share
// memory with the whole request envelope (up to 16 KiB): a resource that
// keeps a value beyond the call (in a job, say) should keep a
// strings.Clone of it, not to pin the envelope (etree's Copy does not
// copy the strings).
type Request struct {
	Caller Caller

	Action      string
	ResourceURI string
	MessageID   string
	To          string
	Selectors   SelectorSet
	Options     []Option

	// OperationTimeout is the client's wsman:OperationTimeout, zero if
	// absent. The context passed to a resource already carries it as a
	// deadline.
	OperationTimeout time.Duration
	// MaxEnvelopeSize is the effective response size limit in octets.
	MaxEnvelopeSize int
	// Locale and DataLocale are the xml:lang values of wsman:Locale and
	// wsman:DataLocale, empty if absent.
	Locale, DataLocale string

	// Body is the first element child of s:Body, nil for an empty body.
	Body *etree.Element
}

// Item is one result of an enumeration. Object is the resource
// representation (an element with its own namespace declarations); EPR is
// its endpoint reference. Both are needed for EnumerateObjectAndEPR; a
// resource may leave Object nil when the request's Mode is EnumerateEPR.
type Item struct {
	Object *etree.Element
	EPR    *EPR
}

// EnumerationMode is the wsman:EnumerationMode of an Enumerate request.
type EnumerationMode int

const (
	EnumerateObjects EnumerationMode = iota
	EnumerateEPR
	EnumerateObjectAndEPR
)

// Filter dialects the service understands; any other dialect is answered
// with wsen:FilterDialectRequestedUnavailable before a resource is called.
const (
	DialectSelector    = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"
	DialectAssociation = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
	DialectWQL         = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
)

// Filter is the decoded wsman:Filter (or wsen:Filter) of an Enumerate.
// Exactly one of Selectors, Association and WQL is set, per Dialect.
type Filter struct {
	Dialect     string
	Selectors   SelectorSet        // DialectSelector
	Association *AssociationFilter // DialectAssociation
	WQL         *wql.Query         // DialectWQL, already parsed
}

// AssociationKind tells which of the two DSP0227 association filters was sent.
type AssociationKind int

const (
	// AssociatedInstances (wsmb:AssociatedInstances): the instances at the
	// other end of associations of Object (CIM Associators).
	AssociatedInstances AssociationKind = iota
	// AssociationInstances (wsmb:AssociationInstances): the association
	// instances that refer to Object (CIM References).
	AssociationInstances
)

// AssociationFilter is the DSP0227 §8.2 association filter.
type AssociationFilter struct {
	Kind                 AssociationKind
	Object               EPR
	AssociationClassName string
	Role                 string
	// ResultClassName is the class of the results: the associated
	// instances' (AssociatedInstances) or the associations'
	// (AssociationInstances, as CIM References' ResultClass).
	ResultClassName       string
	ResultRole            string // AssociatedInstances only; ignored for AssociationInstances
	IncludeResultProperty []string
}

// PolymorphismMode is the DSP0227 §9.3 wsmb:PolymorphismMode of an
// Enumerate.
type PolymorphismMode int

const (
	// IncludeSubClassProperties (the default): instances of the class and
	// of its subclasses, each with all its properties.
	IncludeSubClassProperties PolymorphismMode = iota
	// ExcludeSubClassProperties: instances of the class and its
	// subclasses, each with the requested class's properties only.
	ExcludeSubClassProperties
	// PolymorphismNone: instances of the requested class only.
	PolymorphismNone
)

// EnumerateRequest is an Enumerate as handed to an Enumerator.
type EnumerateRequest struct {
	*Request
	Mode   EnumerationMode
	Filter *Filter // nil when no filter was sent
	// Polymorphism is the wsmb:PolymorphismMode; a resource that cannot
	// honour a mode other than IncludeSubClassProperties answers
	// wsmb:PolymorphismModeNotSupported.
	Polymorphism PolymorphismMode
}

// The interfaces below are what a resource registered with Service.Handle
// may implement. A resource that lacks the interface for a request's
// operation gets wsa:ActionNotSupported. Errors are turned into faults by
// the service: return a *Fault for a specific fault, or wrap one of the
// sentinel errors in fault.go (ErrNotFound, ErrAlreadyExists, ...); any
// other error becomes wsman:InternalError. Context deadlines become
// wsman:TimedOut.

// Getter serves WS-Transfer Get: the representation selected by
// req.ResourceURI and req.Selectors.
type Getter interface {
	Get(ctx context.Context, req *Request) (*etree.Element, error)
}

// Putter serves WS-Transfer Put: replace the selected resource with rep and
// return the new representation.
type Putter interface {
	Put(ctx context.Context, req *Request, rep *etree.Element) (*etree.Element, error)
}

// Creator serves WS-Transfer Create and returns the new resource's EPR.
type Creator interface {
	Create(ctx context.Context, req *Request, rep *etree.Element) (*EPR, error)
}

// Deleter serves WS-Transfer Delete.
type Deleter interface {
	Delete(ctx context.Context, req *Request) error
}

// Enumerator serves WS-Enumeration Enumerate: all items that match the
// request's filter, in a stable order. The service keeps them in an
// enumeration context and serves Pull and Release itself.
type Enumerator interface {
	Enumerate(ctx context.Context, req *EnumerateRequest) ([]Item, error)
}

// Invoker serves custom actions (DSP0226 §9, DSP0227 §11): method is the
// last path segment of the Action (the Action is ResourceURI/Method).
// The returned element is the <Method>_OUTPUT body.
type Invoker interface {
	Invoke(ctx context.Context, req *Request, method string) (*etree.Element, error)
}

// BookmarkEarliest is the predefined bookmark of DSP0226 §10.2.6: replay
// every event the source still has, then go on with new ones.
const BookmarkEarliest = "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"

// SubscribeRequest is a WS-Eventing Subscribe as handed to an EventSource.
type SubscribeRequest struct {
	*Request
	// Filter is the wsman:Filter (or wse:Filter) of the subscription, nil
	// for none (every event of the resource). Its dialect is WQL: other
	// dialects are refused with wse:FilteringRequestedUnavailable before
	// the source is asked.
	Filter *Filter
	// Bookmark is the wsman:Bookmark the subscriber resumes from: "" for
	// none, BookmarkEarliest, or the text of a bookmark this source gave
	// in an Event. A source that keeps no history refuses any with
	// wsman:UnsupportedFeature (detail Bookmarks); one it cannot resume
	// from is wsman:InvalidBookmark (detail Expired or Invalid).
	Bookmark string
}

// Event is one event an EventSource publishes.
type Event struct {
	// Action is the wsa:Action of the event message, ActionEvent when
	// empty.
	Action string
	// Body is the event's representation: one element carrying its own
	// namespace declarations, as a Getter's representation. It is
	// serialized when published; the source may reuse it afterwards.
	Body *etree.Element
	// Bookmark is the source's bookmark for the position after this
	// event (sent to subscribers that asked for bookmarks); "" for none.
	Bookmark string
}

// EventSink receives the events of one subscription. Publish never
// blocks: the service queues the event (dropping the oldest, and telling
// the subscriber how many, when the subscription's queue is full) and
// reports false once the subscription has ended, after which the source
// should stop publishing to it. End ends the subscription on the source's
// side: the subscriber gets a SubscriptionEnd with SourceCancelling.
type EventSink interface {
	Publish(ev Event) bool
	End(reason string)
}

// EventSource serves WS-Eventing Subscribe (DSP0226 §10.2) for a
// resource. Subscribe validates req (its filter and bookmark) and returns
// an error (a *Fault, as for the other operations) to refuse it; otherwise
// it starts publishing matching events to sink, until the returned cancel
// is called, which the service does once when the subscription ends for
// any reason. The service owns everything else: delivery modes, expiry,
// renewal, heartbeats, queues and their bounds.
type EventSource interface {
	Subscribe(ctx context.Context, req *SubscribeRequest, sink EventSink) (cancel func(), err error)
}
