package wsbind

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/indication"
	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wql"
)

// WS-Eventing subscriptions to CIM indications (DSP0227 §10.2.1): on the
// all-classes URI with a WQL filter naming the indication class, or on
// the ResourceURI of an indication class with an optional WQL filter.
// Each indication is delivered as its WS-CIM instance, SourceInstance and
// PreviousInstance nested as embedded instances; the event Action is
// wsman.ActionEvent (DSP0226 §10.2.8, as Windows sends CIM indications).
//
// The WQL filter is evaluated on the indication: its properties, __CLASS,
// SourceInstance ISA 'Class' (the embedded instance's class), and the
// properties of the embedded instances as SourceInstance.Name and
// PreviousInstance.Name, as Windows and openwsman clients write them:
//
//	SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob
//	SELECT * FROM CIM_InstModification WHERE SourceInstance ISA 'CIM_ConcreteJob' AND SourceInstance.JobState = 7

var (
	_ wsman.EventSource = classResource{}
	_ wsman.EventSource = allClassesResource{}
)

// Subscribe serves WS-Eventing Subscribe on a class ResourceURI: the class
// must be an indication class (else wse:EventSourceUnableToProcess); a WQL
// filter may narrow it.
func (r classResource) Subscribe(ctx context.Context, req *wsman.SubscribeRequest, sink wsman.EventSink) (func(), error) {
	ci, err := r.requestClass(req.ResourceURI)
	if err != nil {
		return nil, err
	}
	if !r.reg.IsA(ci.class.Name, "CIM_Indication") {
		return nil, wsman.NewFault(wsman.SubcodeEventSourceUnableToProcess, "",
			"Class "+ci.class.Name+" is not an indication class; subscribe to CIM_InstCreation, CIM_InstModification or CIM_InstDeletion.")
	}
	return r.subscribe(req, ci.class.Name, sink)
}

// Subscribe serves WS-Eventing Subscribe on wscim.AllClassesURI: a WQL
// filter names the indication class (wsman:UnsupportedFeature with detail
// FilteringRequired without one).
func (r allClassesResource) Subscribe(ctx context.Context, req *wsman.SubscribeRequest, sink wsman.EventSink) (func(), error) {
	if req.Filter == nil {
		return nil, wsman.NewFault(wsman.SubcodeUnsupportedFeature, wsman.DetailFilteringRequired,
			"Subscribing on all classes requires a WQL filter naming the indication class.")
	}
	return r.subscribe(req, "", sink)
}

// subscribe connects a subscription to the indication publisher. class is
// the indication class of the ResourceURI ("" for all classes).
func (r *binding) subscribe(req *wsman.SubscribeRequest, class string, sink wsman.EventSink) (func(), error) {
	if r.pub == nil {
		return nil, wsman.NewFault(wsman.SubcodeEventSourceUnableToProcess, "", "This service publishes no indications.")
	}
	match := func(ind *cim.Instance) bool { return r.reg.IsA(ind.Class.Name, class) }
	if req.Filter != nil {
		m, err := r.indicationFilter(req.Filter.WQL, class)
		if err != nil {
			return nil, err
		}
		match = m
	}
	bookmark := req.Bookmark
	if bookmark == wsman.BookmarkEarliest {
		bookmark = indication.BookmarkEarliest
	}
	opt := wscim.EncodeOptions{}
	cancel, err := r.pub.Subscribe(match, bookmark, func(in indication.Indication) {
		sink.Publish(wsman.Event{Body: r.encode(in.Instance, opt), Bookmark: in.Bookmark})
	})
	switch {
	case errors.Is(err, indication.ErrBookmarkExpired):
		return nil, wsman.NewFault(wsman.SubcodeInvalidBookmark, wsman.DetailExpired, "The indications after this bookmark are no longer kept; resubscribe without it.")
	case errors.Is(err, indication.ErrBookmarkInvalid):
		return nil, wsman.NewFault(wsman.SubcodeInvalidBookmark, wsman.DetailInvalid, "The bookmark was not given by this service (or was given before it restarted).")
	case err != nil:
		return nil, err
	}
	return cancel, nil
}

// indicationFilter compiles a WQL event query into a match function. The
// FROM class must be an indication class (the ResourceURI's class or one
// of its subclasses, when it names one); the WHERE clause may use the
// class's properties, __CLASS, and Prop.Name for an embedded-instance
// property Prop. Anything else is wsman:CannotProcessFilter.
func (r *binding) indicationFilter(q *wql.Query, class string) (func(*cim.Instance) bool, error) {
	ci, ok := r.class(q.Class)
	if !ok || !r.reg.IsA(ci.class.Name, "CIM_Indication") {
		return nil, wsman.NewFault(wsman.SubcodeCannotProcessFilterWSMan, "",
			"The class "+q.Class+" in the WQL query is not an indication class; use CIM_InstCreation, CIM_InstModification or CIM_InstDeletion.")
	}
	if class != "" && !r.reg.IsA(ci.class.Name, class) {
		return nil, wsman.NewFault(wsman.SubcodeCannotProcessFilterWSMan, "",
			fmt.Sprintf("The WQL query selects %s, which is not a %s as the ResourceURI says.", ci.class.Name, class))
	}
	for _, name := range q.WhereProperties() {
		base, _, dotted := strings.Cut(name, ".")
		p := ci.class.Property(base)
		switch {
		case strings.EqualFold(name, "__CLASS"):
		case p == nil:
			return nil, wsman.NewFault(wsman.SubcodeCannotProcessFilterWSMan, "", fmt.Sprintf("Class %s has no property %s.", ci.class.Name, base))
		case dotted && !isEmbeddedObject(p):
			return nil, wsman.NewFault(wsman.SubcodeCannotProcessFilterWSMan, "", fmt.Sprintf("%s is not an embedded instance: %s cannot be read.", p.Name, name))
		}
	}
	from := ci.class.Name
	return func(ind *cim.Instance) bool {
		if !r.reg.IsA(ind.Class.Name, from) {
			return false
		}
		ok, err := q.Match(func(name string) (any, bool) { return r.indicationValue(ind, name) })
		return err == nil && ok
	}, nil
}

// isEmbeddedObject reports whether p holds an embedded instance.
func isEmbeddedObject(p *cim.Property) bool {
	if p.Type != cim.String {
		return false
	}
	_, ok := p.Qualifiers.Get("EmbeddedObject")
	return ok || p.EmbeddedInstance != ""
}

// indicationValue is the WQL value of name on an indication.
func (r *binding) indicationValue(ind *cim.Instance, name string) (any, bool) {
	if strings.EqualFold(name, "__CLASS") {
		return classOf{r.reg, ind.Class.Name}, true
	}
	if base, prop, dotted := strings.Cut(name, "."); dotted {
		v, _ := ind.Get(base)
		emb, ok := v.(*cim.Instance)
		if !ok || emb == nil {
			return nil, true // NULL: no embedded instance
		}
		if strings.EqualFold(prop, "__CLASS") {
			return classOf{r.reg, emb.Class.Name}, true
		}
		return emb.Get(prop)
	}
	v, ok := ind.Get(name)
	if emb, isInst := v.(*cim.Instance); isInst && emb != nil {
		return classOf{r.reg, emb.Class.Name}, true // for SourceInstance ISA 'Class'
	}
	return v, ok
}
