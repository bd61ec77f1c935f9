package wsmantest

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman"
)

// EventClassName is the element name of the events a Resource publishes:
// <p:VSMIG_TestItemEvent xmlns:p=ResourceURI><p:Kind/><p:Name/><p:Value/>,
// Kind being Created, Modified or Deleted.
const EventClassName = "VSMIG_TestItemEvent"

// historyLen is how many recent events a Resource keeps for bookmarks.
const historyLen = 8

// events is the eventing state of a Resource, guarded by its mu.
type events struct {
	seq     int
	history []record // the last historyLen events, oldest first
	subs    map[*testSub]bool
}

type record struct {
	seq              int
	kind, name, data string
}

type testSub struct {
	sink  wsman.EventSink
	match func(record) bool
}

// Subscribers returns the number of connected subscriptions.
func (r *Resource) Subscribers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ev.subs)
}

// Touch publishes a Modified event for the item name without changing it.
func (r *Resource) Touch(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := r.find(name); i >= 0 {
		r.publishLocked("Modified", r.items[i])
	}
}

// EndSubscriptions ends every subscription from the source's side.
func (r *Resource) EndSubscriptions(reason string) {
	r.mu.Lock()
	subs := make([]*testSub, 0, len(r.ev.subs))
	for s := range r.ev.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	for _, s := range subs {
		s.sink.End(reason)
	}
}

func (r *Resource) publishLocked(kind string, it item) {
	r.ev.seq++
	rec := record{seq: r.ev.seq, kind: kind, name: it.name, data: it.value}
	r.ev.history = append(r.ev.history, rec)
	if len(r.ev.history) > historyLen {
		r.ev.history = r.ev.history[1:]
	}
	for s := range r.ev.subs {
		if s.match(rec) {
			s.sink.Publish(eventOf(rec))
		}
	}
}

func eventOf(rec record) wsman.Event {
	e := etree.NewElement("p:" + EventClassName)
	e.CreateAttr("xmlns:p", ResourceURI)
	e.CreateElement("p:Kind").SetText(rec.kind)
	e.CreateElement("p:Name").SetText(rec.name)
	e.CreateElement("p:Value").SetText(rec.data)
	return wsman.Event{Body: e, Bookmark: "testitem:" + strconv.Itoa(rec.seq)}
}

// Subscribe implements wsman.EventSource. A WQL filter must select FROM
// VSMIG_TestItemEvent (else wsman:CannotProcessFilter); a bookmark is
// BookmarkEarliest or one this resource gave ("testitem:N"), replayed from
// the last events it keeps (older: wsman:InvalidBookmark, Expired).
func (r *Resource) Subscribe(ctx context.Context, req *wsman.SubscribeRequest, sink wsman.EventSink) (func(), error) {
	match := func(record) bool { return true }
	if f := req.Filter; f != nil {
		q := f.WQL
		if !strings.EqualFold(q.Class, EventClassName) {
			return nil, wsman.NewFault(wsman.SubcodeCannotProcessFilterWSMan, "", "Events are of class "+EventClassName+".")
		}
		match = func(rec record) bool {
			ok, err := q.Match(func(p string) (any, bool) {
				switch {
				case strings.EqualFold(p, "Kind"):
					return rec.kind, true
				case strings.EqualFold(p, "Name"):
					return rec.name, true
				case strings.EqualFold(p, "Value"):
					return rec.data, true
				}
				return nil, false
			})
			return err == nil && ok
		}
		for _, p := range q.WhereProperties() {
			if !strings.EqualFold(p, "Kind") && !strings.EqualFold(p, "Name") && !strings.EqualFold(p, "Value") {
				return nil, wsman.NewFault(wsman.SubcodeCannotProcessFilterWSMan, "", EventClassName+" has no property "+p+".")
			}
		}
	}
	s := &testSub{sink: sink, match: match}
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Bookmark != "" {
		from := 0
		if req.Bookmark != wsman.BookmarkEarliest {
			n, err := strconv.Atoi(strings.TrimPrefix(req.Bookmark, "testitem:"))
			if err != nil || !strings.HasPrefix(req.Bookmark, "testitem:") || n > r.ev.seq {
				return nil, wsman.NewFault(wsman.SubcodeInvalidBookmark, wsman.DetailInvalid, fmt.Sprintf("Bookmark %q was not given by this source.", req.Bookmark))
			}
			if len(r.ev.history) > 0 && n < r.ev.history[0].seq-1 {
				return nil, wsman.NewFault(wsman.SubcodeInvalidBookmark, wsman.DetailExpired, "The events after this bookmark are no longer kept.")
			}
			from = n
		}
		for _, rec := range r.ev.history {
			if rec.seq > from && match(rec) {
				sink.Publish(eventOf(rec))
			}
		}
	}
	if r.ev.subs == nil {
		r.ev.subs = make(map[*testSub]bool)
	}
	r.ev.subs[s] = true
	return func() {
		r.mu.Lock()
		delete(r.ev.subs, s)
		r.mu.Unlock()
	}, nil
}
