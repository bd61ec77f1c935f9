package wsbind

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/indication"
	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman"
)

// DefaultNamespace is the CIM namespace of requests without a
// __cimnamespace selector, unless Options say otherwise.
const DefaultNamespace = "root/virtualization"

// Options configure the binding.
type Options struct {
	// DefaultNamespace is used when a request has no __cimnamespace
	// selector; DefaultNamespace when empty.
	DefaultNamespace string
	// Logger receives internal errors and rejected method arguments;
	// nil discards.
	Logger *slog.Logger
	// Indications publishes the lifecycle indications WS-Eventing
	// subscribers receive. Nil: Register makes one over reg. Register
	// has the Broker report the changes of its intrinsic operations to it
	// (Put: CIM_InstModification, Delete: CIM_InstDeletion), unless
	// ProvidersReportChanges; providers report their own changes to it
	// directly.
	Indications *indication.Publisher
	// ProvidersReportChanges says that the providers report every change
	// of their instances, those a Put or a Delete makes included (cim/vsm
	// sees them all in the job store): the Broker must not report them a
	// second time.
	ProvidersReportChanges bool
}

// Register installs the CIM resources in svc: one resource serving every
// class under wscim.CIMSchemaURI and wscim.VendorSchemaURI (Get, Put,
// Delete, Enumerate, Invoke, and Subscribe on indication classes) and one
// for wscim.AllClassesURI (Enumerate with an association or WQL filter,
// Subscribe with a WQL filter). Operations go to b; reg supplies the class
// definitions (the registry b was built over). It returns the indication
// publisher subscriptions are served from (opts.Indications, or the one
// it made), the hook through which changes reach subscribers.
func Register(svc *wsman.Service, b *cim.Broker, reg cim.Registry, opts Options) *indication.Publisher {
	r := newBinding(b, reg, opts)
	if r.pub == nil {
		pub, err := indication.New(indication.Config{Registry: reg})
		if err != nil {
			r.log.Warn("no indications: the registry lacks the CIM_Inst* classes", "err", err)
		} else {
			r.pub = pub
		}
	}
	if r.pub != nil && !opts.ProvidersReportChanges {
		b.Observe(r.pub)
	}
	svc.Handle(wscim.CIMSchemaURI, classResource{r})
	svc.Handle(wscim.VendorSchemaURI, classResource{r})
	svc.Handle(wscim.AllClassesURI, allClassesResource{r})
	return r.pub
}

// binding holds what the resources share: the Broker, the class registry
// and a cache of per-class facts used on every request.
type binding struct {
	b     *cim.Broker
	reg   cim.Registry
	defNS string
	log   *slog.Logger
	pub   *indication.Publisher // nil: no indications

	classes sync.Map // lower-case class name -> *classInfo
}

// classInfo caches what the binding derives from a class.
type classInfo struct {
	class    *cim.Class
	uri      string // ResourceURI
	keys     []*cim.Property
	keyNames []string
}

func newBinding(b *cim.Broker, reg cim.Registry, opts Options) *binding {
	r := &binding{b: b, reg: reg, defNS: opts.DefaultNamespace, log: opts.Logger, pub: opts.Indications}
	if r.defNS == "" {
		r.defNS = DefaultNamespace
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// class returns the cached facts of the class named name.
func (r *binding) class(name string) (*classInfo, bool) {
	k := strings.ToLower(name)
	if ci, ok := r.classes.Load(k); ok {
		return ci.(*classInfo), true
	}
	c, ok := r.reg.Class(name)
	if !ok {
		return nil, false
	}
	ci := &classInfo{class: c, uri: wscim.ResourceURI(c.Name), keys: c.Keys()}
	for _, p := range ci.keys {
		ci.keyNames = append(ci.keyNames, p.Name)
	}
	r.classes.Store(k, ci)
	return ci, true
}

// resourceURI returns the ResourceURI of the class named name.
func (r *binding) resourceURI(name string) string {
	if ci, ok := r.class(name); ok {
		return ci.uri
	}
	return wscim.ResourceURI(name)
}

// requestClass returns the class the request's ResourceURI names:
// wsa:DestinationUnreachable with detail InvalidResourceURI if none.
func (r *binding) requestClass(uri string) (*classInfo, error) {
	name, ok := wscim.ClassName(uri)
	if !ok {
		return nil, wsman.NewFault(wsman.SubcodeDestinationUnreachable, wsman.DetailInvalidResourceURI,
			"The ResourceURI "+uri+" does not name a CIM class.")
	}
	ci, ok := r.class(name)
	if !ok {
		return nil, wsman.NewFault(wsman.SubcodeDestinationUnreachable, wsman.DetailInvalidResourceURI,
			"The class "+name+" does not exist.")
	}
	return ci, nil
}

// encodeOptions returns the WS-CIM encoding options a request asks for:
// the wsman:OptionSet option ExcludeNilProperties (openwsman) leaves NULL
// properties out.
func encodeOptions(req *wsman.Request) wscim.EncodeOptions {
	var opt wscim.EncodeOptions
	for _, o := range req.Options {
		if strings.EqualFold(o.Name, "ExcludeNilProperties") {
			v := strings.TrimSpace(o.Value)
			opt.ExcludeNil = v == "" || strings.EqualFold(v, "true") || v == "1"
		}
	}
	return opt
}

// encode returns the WS-CIM representation of inst.
func (r *binding) encode(inst *cim.Instance, opt wscim.EncodeOptions) *etree.Element {
	return wscim.EncodeInstance(inst, opt)
}

// classResource serves the instances of one class tree per request: the
// class is the last segment of the ResourceURI.
type classResource struct{ *binding }

// allClassesResource serves wscim.AllClassesURI: enumeration with a filter.
type allClassesResource struct{ *binding }

var (
	_ wsman.Getter     = classResource{}
	_ wsman.Putter     = classResource{}
	_ wsman.Deleter    = classResource{}
	_ wsman.Enumerator = classResource{}
	_ wsman.Invoker    = classResource{}
	_ wsman.Enumerator = allClassesResource{}
)

// requestTarget resolves the class of req's ResourceURI and the instance
// path its selectors name: the target of Get, Put and Delete.
func (r classResource) requestTarget(req *wsman.Request) (*classInfo, cim.ObjectPath, error) {
	ci, err := r.requestClass(req.ResourceURI)
	if err != nil {
		return nil, cim.ObjectPath{}, err
	}
	path, err := r.requestPath(ci, req.Selectors)
	return ci, path, err
}

// Get serves WS-Transfer Get (DSP0227 §7.1).
func (r classResource) Get(ctx context.Context, req *wsman.Request) (*etree.Element, error) {
	ctx = withRequester(ctx, req)
	_, path, err := r.requestTarget(req)
	if err != nil {
		return nil, err
	}
	inst, err := r.b.GetInstance(ctx, path)
	if err != nil {
		return nil, r.toFault(ctx, err)
	}
	return r.encode(inst, encodeOptions(req)), nil
}

// Delete serves WS-Transfer Delete (DSP0227 §7.4).
func (r classResource) Delete(ctx context.Context, req *wsman.Request) error {
	ctx = withRequester(ctx, req)
	_, path, err := r.requestTarget(req)
	if err != nil {
		return err
	}
	return r.toFault(ctx, r.b.DeleteInstance(ctx, path))
}

// Put serves WS-Transfer Put (DSP0227 §7.2): rep is decoded as an instance
// of the ResourceURI's class; its key properties, when present, must equal
// the selectors (a Put cannot rename). Only the properties rep carries
// with a value are changed. The reply is the new representation.
func (r classResource) Put(ctx context.Context, req *wsman.Request, rep *etree.Element) (*etree.Element, error) {
	ctx = withRequester(ctx, req)
	ci, path, err := r.requestTarget(req)
	if err != nil {
		return nil, err
	}
	if rep == nil {
		return nil, wsman.NewFault(wsman.SubcodeInvalidRepresentation, "", "The Put request has no representation.")
	}
	inst, err := decodeInstance(rep, r.reg, ci.class)
	if err != nil {
		f := wsman.NewFault(wsman.SubcodeInvalidRepresentation, "", "The representation is not a valid "+ci.class.Name+": "+err.Error())
		f.Err = err
		return nil, f
	}
	for _, k := range path.Keys {
		v, _ := inst.Get(k.Name)
		if v != nil && !cim.ValuesEqual(v, k.Value) {
			return nil, wsman.NewFault(wsman.SubcodeInvalidRepresentation, "",
				"The representation changes key property "+k.Name+"; keys cannot be modified.")
		}
		if err := inst.Set(k.Name, k.Value); err != nil {
			return nil, r.toFault(ctx, err)
		}
	}
	inst.Namespace = path.Namespace
	if err := r.b.ModifyInstance(ctx, inst); err != nil {
		return nil, r.toFault(ctx, err)
	}
	cur, err := r.b.GetInstance(ctx, path)
	if err != nil {
		return nil, r.toFault(ctx, err)
	}
	return r.encode(cur, encodeOptions(req)), nil
}

// withRequester tells providers and log handlers who sent the request and
// under which MessageID (see cim.Requester).
func withRequester(ctx context.Context, req *wsman.Request) context.Context {
	return cim.WithRequester(ctx, cim.Requester{User: req.Caller.User, MessageID: req.MessageID})
}
