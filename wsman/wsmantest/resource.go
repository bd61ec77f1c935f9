package wsmantest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman"
)

// ResourceURI is the URI Resource is meant to be registered under.
const ResourceURI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/VSMIG_TestItem"

// ClassName is the element name of an item's representation.
const ClassName = "VSMIG_TestItem"

// Resource is an in-memory resource with a single key selector "Name".
// Each item is <p:VSMIG_TestItem xmlns:p=ResourceURI><p:Name/><p:Value/>.
// It implements every resource interface of package wsman:
//   - Get/Put/Create/Delete by Name (ErrNotFound, ErrAlreadyExists);
//   - Enumerate, honouring SelectorFilter on Name, WQL (FROM VSMIG_TestItem,
//     WHERE on Name and Value), and returning nothing for association
//     filters;
//   - Invoke "Echo" (in: Text; out: Text, ReturnValue 0) and "Sleep" (blocks
//     until the context ends and returns its error, to test timeouts);
//   - Subscribe (events.go): a VSMIG_TestItemEvent for every Put, Create
//     and Delete, filtered by WQL on Kind, Name and Value, with bookmarks.
type Resource struct {
	mu    sync.Mutex
	items []item
	ev    events // subscriptions and the recent events (events.go)
}

type item struct{ name, value string }

// NewResource returns a Resource with n items named item-1 .. item-n whose
// Value is value-1 .. value-n.
func NewResource(n int) *Resource {
	r := &Resource{}
	for i := 1; i <= n; i++ {
		r.items = append(r.items, item{fmt.Sprintf("item-%d", i), fmt.Sprintf("value-%d", i)})
	}
	return r
}

// Len returns the number of items.
func (r *Resource) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

func (r *Resource) find(name string) int {
	for i, it := range r.items {
		if it.name == name {
			return i
		}
	}
	return -1
}

func element(it item) *etree.Element {
	e := etree.NewElement("p:" + ClassName)
	e.CreateAttr("xmlns:p", ResourceURI)
	e.CreateElement("p:Name").SetText(it.name)
	e.CreateElement("p:Value").SetText(it.value)
	return e
}

func epr(name string) *wsman.EPR {
	return &wsman.EPR{ResourceURI: ResourceURI, Selectors: wsman.SelectorSet{{Name: "Name", Value: name}}}
}

// Get implements wsman.Getter.
func (r *Resource) Get(ctx context.Context, req *wsman.Request) (*etree.Element, error) {
	if err := req.Selectors.Check([]string{"Name"}); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.find(req.Selectors.Value("Name"))
	if i < 0 {
		return nil, fmt.Errorf("%w: no item %q", wsman.ErrNotFound, req.Selectors.Value("Name"))
	}
	return element(r.items[i]), nil
}

func valueOf(rep *etree.Element, name string) (string, bool) {
	for _, c := range rep.ChildElements() {
		if c.Tag == name {
			return c.Text(), true
		}
	}
	return "", false
}

// Put implements wsman.Putter: it replaces Value.
func (r *Resource) Put(ctx context.Context, req *wsman.Request, rep *etree.Element) (*etree.Element, error) {
	if err := req.Selectors.Check([]string{"Name"}); err != nil {
		return nil, err
	}
	v, ok := valueOf(rep, "Value")
	if !ok {
		return nil, fmt.Errorf("%w: no Value", wsman.ErrInvalidRepresentation)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.find(req.Selectors.Value("Name"))
	if i < 0 {
		return nil, wsman.ErrNotFound
	}
	r.items[i].value = v
	r.publishLocked("Modified", r.items[i])
	return element(r.items[i]), nil
}

// Create implements wsman.Creator.
func (r *Resource) Create(ctx context.Context, req *wsman.Request, rep *etree.Element) (*wsman.EPR, error) {
	name, ok := valueOf(rep, "Name")
	if !ok || name == "" {
		return nil, fmt.Errorf("%w: no Name", wsman.ErrInvalidRepresentation)
	}
	v, _ := valueOf(rep, "Value")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.find(name) >= 0 {
		return nil, fmt.Errorf("%w: item %q", wsman.ErrAlreadyExists, name)
	}
	r.items = append(r.items, item{name, v})
	r.publishLocked("Created", item{name, v})
	return epr(name), nil
}

// Delete implements wsman.Deleter.
func (r *Resource) Delete(ctx context.Context, req *wsman.Request) error {
	if err := req.Selectors.Check([]string{"Name"}); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.find(req.Selectors.Value("Name"))
	if i < 0 {
		return wsman.ErrNotFound
	}
	gone := r.items[i]
	r.items = append(r.items[:i], r.items[i+1:]...)
	r.publishLocked("Deleted", gone)
	return nil
}

// Enumerate implements wsman.Enumerator.
func (r *Resource) Enumerate(ctx context.Context, req *wsman.EnumerateRequest) ([]wsman.Item, error) {
	match := func(item) bool { return true }
	if f := req.Filter; f != nil {
		switch f.Dialect {
		case wsman.DialectSelector:
			if err := f.Selectors.Check([]string{"Name"}); err != nil {
				return nil, err
			}
			want := f.Selectors.Value("Name")
			match = func(it item) bool { return it.name == want }
		case wsman.DialectWQL:
			q := f.WQL
			if q == nil || !strings.EqualFold(q.Class, ClassName) {
				return nil, fmt.Errorf("%w: unknown class", wsman.ErrCannotProcessFilter)
			}
			match = func(it item) bool {
				ok, err := q.Match(func(p string) (any, bool) {
					switch {
					case strings.EqualFold(p, "Name"):
						return it.name, true
					case strings.EqualFold(p, "Value"):
						return it.value, true
					}
					return nil, false
				})
				return err == nil && ok
			}
		case wsman.DialectAssociation:
			return nil, nil
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wsman.Item
	for _, it := range r.items {
		if !match(it) {
			continue
		}
		var obj *etree.Element
		if req.Mode != wsman.EnumerateEPR {
			obj = element(it)
		}
		out = append(out, wsman.Item{Object: obj, EPR: epr(it.name)})
	}
	return out, nil
}

// Invoke implements wsman.Invoker.
func (r *Resource) Invoke(ctx context.Context, req *wsman.Request, method string) (*etree.Element, error) {
	switch method {
	case "Echo":
		params, err := wsman.ParseParams(req.Body)
		if err != nil {
			return nil, err
		}
		text := ""
		if p := wsman.FindParam(params, "Text"); p != nil && len(p.Values) > 0 {
			text = p.Values[0].Text
		}
		out := etree.NewElement("p:Echo_OUTPUT")
		out.CreateAttr("xmlns:p", ResourceURI)
		out.CreateElement("p:Text").SetText(text)
		out.CreateElement("p:ReturnValue").SetText("0")
		return out, nil
	case "Sleep":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("%w: method %s", wsman.ErrActionNotSupported, method)
}
