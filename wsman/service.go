package wsman

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vsmig/vsmig/wsman/eventing"
)

// Defaults for Config fields left zero.
const (
	// DefaultMaxEnvelopeSize is the largest response the service writes
	// (Windows MaxEnvelopeSizekb = 500).
	DefaultMaxEnvelopeSize = 512000
	// DefaultEnvelopeSize applies when a request carries no
	// wsman:MaxEnvelopeSize. It is the value pywinrm and masterzen/winrm
	// send, so clients that omit the header (Intel AMT tooling) see the
	// limits the common clients see. openwsman uses 32767 (DSP0226 R13.1-3
	// as it quotes it), which splits enumerations needlessly; Windows uses
	// its maximum.
	DefaultEnvelopeSize = 153600
	// DefaultMaxOperationTimeout caps wsman:OperationTimeout and is the
	// deadline when a request has none (Windows MaxTimeoutms).
	DefaultMaxOperationTimeout = 60 * time.Second
	// DefaultEnumerationIdleTimeout is how long an enumeration context
	// lives without a Pull (Windows EnumerationTimeoutms).
	DefaultEnumerationIdleTimeout = 60 * time.Second
	// DefaultMaxEnumerationContexts bounds open enumeration contexts;
	// beyond it Enumerate fails with wsman:QuotaLimit.
	DefaultMaxEnumerationContexts = 1024
	// DefaultMaxEnumerationContextsPerUser bounds the open contexts of one
	// user, so that one user cannot hold the others' share: an eighth of
	// DefaultMaxEnumerationContexts.
	DefaultMaxEnumerationContextsPerUser = 128
	// DefaultMaxEnumerationBytesPerUser bounds the memory the open
	// contexts of one user hold (their items as written, about 1 KiB per
	// instance): room for a few enumerations of 10,000 VMs.
	DefaultMaxEnumerationBytesPerUser = 64 << 20
	// DefaultMaxElements caps the items of one batch, whatever the client
	// asks (Windows MaxBatchItems).
	DefaultMaxElements = 32000
	// DefaultDuplicateMessageIDs is how many recent MessageIDs are
	// remembered per caller to detect duplicates.
	DefaultDuplicateMessageIDs = 1000
)

// Config configures a Service. The zero value is valid; each zero field
// takes the default named after it.
type Config struct {
	// ProductVendor and ProductVersion are reported by Identify; the
	// version is withheld from anonymous callers, as Windows does.
	ProductVendor, ProductVersion string
	// SecurityProfiles are the wsmid:SecurityProfileName URIs advertised by
	// Identify, e.g. NSWSManSecProf + "/https/basic".
	SecurityProfiles []string
	// MaxEnvelopeSize caps responses in octets (DefaultMaxEnvelopeSize).
	// A larger client wsman:MaxEnvelopeSize is silently lowered to it.
	MaxEnvelopeSize int
	// DefaultEnvelopeSize is the limit when the request has no
	// wsman:MaxEnvelopeSize (DefaultEnvelopeSize, at most MaxEnvelopeSize).
	DefaultEnvelopeSize int
	// MaxOperationTimeout caps wsman:OperationTimeout
	// (DefaultMaxOperationTimeout).
	MaxOperationTimeout time.Duration
	// EnumerationIdleTimeout expires unused enumeration contexts
	// (DefaultEnumerationIdleTimeout).
	EnumerationIdleTimeout time.Duration
	// MaxEnumerationContexts bounds open contexts
	// (DefaultMaxEnumerationContexts). An optimized Enumerate whose reply
	// holds every item opens none.
	MaxEnumerationContexts int
	// MaxEnumerationContextsPerUser bounds the open contexts of one user
	// (DefaultMaxEnumerationContextsPerUser).
	MaxEnumerationContextsPerUser int
	// MaxEnumerationBytesPerUser bounds the memory of one user's open
	// contexts, hence of any one context (DefaultMaxEnumerationBytesPerUser).
	MaxEnumerationBytesPerUser int64
	// MaxElements caps the items per Enumerate/Pull batch
	// (DefaultMaxElements).
	MaxElements int
	// DuplicateMessageIDs is how many recent MessageIDs are remembered per
	// caller; a repeated one is refused with
	// wsa:InvalidMessageInformationHeader (DefaultDuplicateMessageIDs).
	// Negative disables the check (for clients such as Intel AMT tooling
	// that number messages from 0 in every session).
	DuplicateMessageIDs int
	// Logger receives internal errors (slog.Default() when nil).
	Logger *slog.Logger
	// Observe, if set, is called once per request after the response is
	// built (a metrics hook). It must not block.
	Observe func(RequestInfo)
	// Now returns the current time, for enumeration and subscription
	// expiry (time.Now).
	Now func() time.Time
	// Eventing bounds the WS-Eventing subscriptions (see package
	// eventing for its defaults); its Now and Logger default to the
	// fields above.
	Eventing eventing.Config
	// EventClient sends push-style events and SubscriptionEnd messages.
	// Nil: a client that verifies HTTPS servers with the system's trusted
	// roots, follows no redirect, uses no proxy when PushTargets is set,
	// and enforces PushTargets on every connection.
	EventClient *http.Client
	// PushTargets bounds the addresses push-style subscriptions may name
	// (NotifyTo and EndTo; see PushTargets). Nil: any http or https
	// address, for a service whose users are all trusted with the
	// network; an empty PushTargets allows Pull subscriptions only.
	PushTargets *PushTargets
}

// RequestInfo describes one handled request for Config.Observe.
type RequestInfo struct {
	Action       string // request wsa:Action; ActionIdentify for Identify; "" if unparsable
	ResourceURI  string
	FaultSubcode string // "" on success; the subcode (or code) of the fault sent
	Duration     time.Duration
}

// Service is a WS-Management service: it decodes SOAP envelopes, enforces
// the protocol rules and dispatches to resources registered with Handle.
// It is safe for concurrent use. Close stops its background expiry.
type Service struct {
	cfg Config
	log *slog.Logger

	mu     sync.RWMutex
	routes []route // longest prefix first

	enum   *enumStore
	dedup  *dedupStore
	events *eventing.Manager

	bufs sync.Pool // *bytes.Buffer

	stopc     chan struct{}
	donec     chan struct{}
	closeOnce sync.Once
}

type route struct {
	prefix   string
	resource any
}

// NewService returns a Service and starts its enumeration-expiry sweeper;
// call Close to stop it.
func NewService(cfg Config) *Service {
	if cfg.MaxEnvelopeSize <= 0 {
		cfg.MaxEnvelopeSize = DefaultMaxEnvelopeSize
	}
	if cfg.MaxEnvelopeSize < minEnvelopeSize {
		cfg.MaxEnvelopeSize = minEnvelopeSize
	}
	if cfg.DefaultEnvelopeSize <= 0 {
		cfg.DefaultEnvelopeSize = DefaultEnvelopeSize
	}
	if cfg.DefaultEnvelopeSize > cfg.MaxEnvelopeSize {
		cfg.DefaultEnvelopeSize = cfg.MaxEnvelopeSize
	}
	if cfg.MaxOperationTimeout <= 0 {
		cfg.MaxOperationTimeout = DefaultMaxOperationTimeout
	}
	if cfg.EnumerationIdleTimeout <= 0 {
		cfg.EnumerationIdleTimeout = DefaultEnumerationIdleTimeout
	}
	if cfg.MaxEnumerationContexts <= 0 {
		cfg.MaxEnumerationContexts = DefaultMaxEnumerationContexts
	}
	if cfg.MaxEnumerationContextsPerUser <= 0 {
		cfg.MaxEnumerationContextsPerUser = DefaultMaxEnumerationContextsPerUser
	}
	if cfg.MaxEnumerationBytesPerUser <= 0 {
		cfg.MaxEnumerationBytesPerUser = DefaultMaxEnumerationBytesPerUser
	}
	if cfg.MaxElements <= 0 {
		cfg.MaxElements = DefaultMaxElements
	}
	if cfg.DuplicateMessageIDs == 0 {
		cfg.DuplicateMessageIDs = DefaultDuplicateMessageIDs
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		cfg: cfg,
		log: cfg.Logger,
		enum: newEnumStore(cfg.MaxEnumerationContexts, cfg.MaxEnumerationContextsPerUser,
			cfg.MaxEnumerationBytesPerUser, cfg.EnumerationIdleTimeout, cfg.Now),
		stopc: make(chan struct{}),
		donec: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.DuplicateMessageIDs > 0 {
		s.dedup = newDedupStore(cfg.DuplicateMessageIDs)
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	ecfg := cfg.Eventing
	if ecfg.Now == nil {
		ecfg.Now = cfg.Now
	}
	if ecfg.Logger == nil {
		ecfg.Logger = s.log
	}
	s.events = eventing.New(ecfg, newHTTPDeliverer(cfg.EventClient, cfg.PushTargets, s.log))
	go s.sweep()
	return s
}

// sweep drops expired enumeration contexts until Close.
func (s *Service) sweep() {
	defer close(s.donec)
	period := s.cfg.EnumerationIdleTimeout / 4
	if period < time.Second {
		period = time.Second
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-t.C:
			s.enum.expire()
		}
	}
}

// Close ends every subscription (with a SubscriptionEnd, status
// SourceShuttingDown, to those that gave an EndTo address), stops the
// expiry sweepers and the event deliveries and waits for them. Open
// enumeration contexts are dropped. Close is idempotent.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { close(s.stopc) })
	<-s.donec
	s.events.Close()
	s.enum.clear()
	return nil
}

// Subscriptions returns the number of active WS-Eventing subscriptions.
func (s *Service) Subscriptions() int { return s.events.Len() }

// OpenEnumerations returns the number of open enumeration contexts.
func (s *Service) OpenEnumerations() int { return s.enum.len() }

// Handle registers resource for every ResourceURI that starts with
// resourceURIPrefix at a path boundary: the URI equals the prefix, the
// prefix ends with "/", or the URI continues with "/" after it (so
// ".../CIM_ComputerSystem" does not capture ".../CIM_ComputerSystemPackage").
// The longest matching prefix wins; "" matches every URI. resource
// implements any of Getter, Putter, Creator, Deleter, Enumerator and
// Invoker. Handle panics on a duplicate prefix or a nil resource.
func (s *Service) Handle(resourceURIPrefix string, resource any) {
	if resource == nil {
		panic("wsman: Handle with nil resource for " + resourceURIPrefix)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.routes {
		if r.prefix == resourceURIPrefix {
			panic("wsman: duplicate Handle for " + resourceURIPrefix)
		}
	}
	s.routes = append(s.routes, route{resourceURIPrefix, resource})
	sort.SliceStable(s.routes, func(i, j int) bool { return len(s.routes[i].prefix) > len(s.routes[j].prefix) })
}

// lookup returns the route for uri.
func (s *Service) lookup(uri string) (route, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.routes {
		if prefixMatch(uri, r.prefix) {
			return r, true
		}
	}
	return route{}, false
}

func prefixMatch(uri, prefix string) bool {
	switch {
	case prefix == "":
		return true
	case !strings.HasPrefix(uri, prefix):
		return false
	case len(uri) == len(prefix), strings.HasSuffix(prefix, "/"):
		return true
	default:
		return uri[len(prefix)] == '/'
	}
}

// ServeSOAP handles one request envelope (UTF-8) from caller and returns
// the response envelope (UTF-8) with the HTTP status to send: 200, or 500
// for every fault, as Windows WinRM does. ctx bounds the whole operation;
// the client's wsman:OperationTimeout (capped by MaxOperationTimeout) is
// added as a deadline.
func (s *Service) ServeSOAP(ctx context.Context, caller Caller, body []byte) (resp []byte, status int) {
	buf, status := s.serveBuffer(ctx, caller, body)
	resp = bytes.Clone(buf.Bytes())
	s.releaseBuffer(buf)
	return resp, status
}

// serveBuffer is ServeSOAP leaving the response in a pooled buffer, for
// the HTTP handler to write out without another copy. The caller gives
// buf back with releaseBuffer.
func (s *Service) serveBuffer(ctx context.Context, caller Caller, body []byte) (buf *bytes.Buffer, status int) {
	return s.serveWith(ctx, caller, func(r *response, info *RequestInfo) *Fault {
		return s.serve(ctx, caller, body, r, info)
	})
}

// serveUndecodable answers a body the transport could not convert to
// UTF-8 (decodeErr, from httpCharset.decode) with the fault parseDocument
// gives for invalid UTF-8, through the same bookkeeping as serveBuffer.
func (s *Service) serveUndecodable(ctx context.Context, caller Caller, decodeErr error) (buf *bytes.Buffer, status int) {
	return s.serveWith(ctx, caller, func(r *response, _ *RequestInfo) *Fault {
		return s.fault(r, decodeFault(decodeErr), "")
	})
}

// serveWith runs serve in a pooled buffer, then logs a fault and calls the
// Observe hook.
func (s *Service) serveWith(ctx context.Context, caller Caller, serve func(*response, *RequestInfo) *Fault) (buf *bytes.Buffer, status int) {
	start := time.Now()
	buf = s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	r := &response{buf: buf}
	info := RequestInfo{}
	f := serve(r, &info)
	if f != nil {
		info.FaultSubcode = f.Subcode
		if f.Subcode == "" {
			info.FaultSubcode = f.Code
		}
		status = 500
		s.log.LogAttrs(ctx, slog.LevelDebug, "wsman: fault", slog.String("fault", info.FaultSubcode),
			slog.String("detail", f.Detail), slog.String("action", info.Action),
			slog.String("resource_uri", info.ResourceURI), slog.String("user", caller.User),
			slog.String("remote", caller.RemoteAddr))
	} else {
		status = 200
	}
	if s.cfg.Observe != nil {
		info.Duration = time.Since(start)
		s.cfg.Observe(info)
	}
	return buf, status
}

// releaseBuffer returns a buffer from serveBuffer to the pool, unless it
// grew too large to keep.
func (s *Service) releaseBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 4*s.cfg.MaxEnvelopeSize {
		s.bufs.Put(buf)
	}
}

// serve decodes, validates and dispatches; on failure it writes the fault
// into r and returns it.
func (s *Service) serve(ctx context.Context, caller Caller, body []byte, r *response, info *RequestInfo) *Fault {
	root, err := parseDocument(body)
	if err != nil {
		return s.fault(r, decodeFault(err), "")
	}
	env, f := decodeEnvelope(root)
	if f != nil {
		mid := ""
		if env != nil {
			mid = env.req.MessageID
		}
		return s.fault(r, f, mid)
	}
	req := &env.req
	req.Caller = caller
	info.Action, info.ResourceURI = req.Action, req.ResourceURI
	if env.notUnderstood != nil {
		f := &Fault{Code: CodeMustUnderstand, notUnderstood: env.notUnderstood,
			Reason: "The WS-Management service cannot process the header " + env.notUnderstood.Tag + " marked mustUnderstand."}
		return s.fault(r, f, req.MessageID)
	}
	if env.identify {
		info.Action = ActionIdentify
		s.identify(r, caller)
		return nil
	}
	if caller.Anonymous {
		return s.fault(r, NewFault(SubcodeAccessDenied, "", "Anonymous requests may only Identify."), req.MessageID)
	}
	if f := env.validate(); f != nil {
		return s.fault(r, f, req.MessageID)
	}
	req.MaxEnvelopeSize = s.cfg.DefaultEnvelopeSize
	if env.maxEnvelope > 0 {
		req.MaxEnvelopeSize = min(env.maxEnvelope, s.cfg.MaxEnvelopeSize)
	}
	if s.dedup != nil && !s.dedup.add(caller.User, req.MessageID) {
		return s.fault(r, NewFault(SubcodeInvalidMessageInformationHeader, DetailDuplicateMessageID,
			"The wsa:MessageID was already used by a recent request."), req.MessageID)
	}
	rt, ok := s.lookup(req.ResourceURI)
	if !ok {
		return s.fault(r, NewFault(SubcodeDestinationUnreachable, DetailInvalidResourceURI,
			"The resource URI is not supported by this service."), req.MessageID)
	}
	timeout := env.effectiveTimeout(s.cfg.MaxOperationTimeout)
	if timeout <= 0 {
		return s.fault(r, NewFault(SubcodeTimedOut, "", "The wsman:OperationTimeout had expired when the request arrived."), req.MessageID)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	f = s.dispatch(ctx, env, rt, r)
	if f == nil && r.buf.Len() > req.MaxEnvelopeSize {
		f = NewFault(SubcodeEncodingLimit, DetailServiceEnvelopeLimit,
			"The response is larger than the MaxEnvelopeSize of the request.")
	}
	if f != nil {
		if f.Subcode == SubcodeInternalError && ctx.Err() != nil {
			f = NewFault(SubcodeTimedOut, "", "")
		}
		if s.dedup != nil && f.Subcode != SubcodeInternalError && f.Subcode != SubcodeTimedOut {
			// Refused without effect: a retry may reuse the MessageID.
			s.dedup.forget(caller.User, req.MessageID)
		}
		r.buf.Reset()
		return s.fault(r, f, req.MessageID)
	}
	return nil
}

// dispatch runs the operation named by the Action.
func (s *Service) dispatch(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	switch env.req.Action {
	case ActionGet:
		return s.get(ctx, env, rt, r)
	case ActionPut:
		return s.put(ctx, env, rt, r)
	case ActionCreate:
		return s.create(ctx, env, rt, r)
	case ActionDelete:
		return s.delete(ctx, env, rt, r)
	case ActionEnumerate:
		return s.enumerate(ctx, env, rt, r)
	case ActionPull:
		return s.pull(ctx, env, r)
	case ActionRelease:
		return s.release(env, r)
	case ActionSubscribe:
		return s.subscribe(ctx, env, rt, r)
	case ActionRenew:
		return s.renew(env, r)
	case ActionGetStatus:
		return s.getStatus(env, r)
	case ActionUnsubscribe:
		return s.unsubscribe(env, r)
	}
	return s.invoke(ctx, env, rt, r)
}

// fault writes f into r (after any partial output was discarded).
func (s *Service) fault(r *response, f *Fault, relatesTo string) *Fault {
	r.buf.Reset()
	r.writeFault(f, relatesTo)
	return f
}

// resourceFault converts a resource error, logging internal errors.
func (s *Service) resourceFault(ctx context.Context, env *envelope, err error) *Fault {
	f, internal := AsFault(err)
	if internal {
		if ctx.Err() != nil {
			return NewFault(SubcodeTimedOut, "", "")
		}
		s.log.Error("wsman: resource failed", "action", env.req.Action,
			"resource_uri", env.req.ResourceURI, "user", env.req.Caller.User, "err", err)
	}
	return f
}
