// Package indication publishes CIM lifecycle indications (CIM_InstCreation,
// CIM_InstModification with PreviousInstance, CIM_InstDeletion; CIM::Event,
// DSP1054) to the subscriptions whose filter selects them.
//
// Whoever changes an instance tells the Publisher: Created(inst),
// Modified(prev, inst), Deleted(inst). The Publisher builds the indication,
// numbers it (SequenceContext, SequenceNumber), keeps the most recent ones
// for bookmarks, and hands it to every subscriber whose match function
// accepts it. A protocol binding (cim/wsbind) subscribes on behalf of
// WS-Eventing subscriptions, compiling their WQL filters into match
// functions.
//
// Imports: the standard library, github.com/google/uuid and cim.
package indication

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/cim"
)

// Class names of the indications the Publisher produces.
const (
	ClassInstCreation     = "CIM_InstCreation"
	ClassInstModification = "CIM_InstModification"
	ClassInstDeletion     = "CIM_InstDeletion"
)

// DefaultHistory is how many recent indications a Publisher keeps for
// subscribers resuming from a bookmark.
const DefaultHistory = 256

// Errors of Subscribe for bookmarks it cannot resume from.
var (
	// ErrBookmarkExpired: the indications after the bookmark are no longer
	// kept.
	ErrBookmarkExpired = errors.New("indication: the indications after the bookmark are no longer kept")
	// ErrBookmarkInvalid: the bookmark was not given by this Publisher (or
	// by it before the service restarted).
	ErrBookmarkInvalid = errors.New("indication: the bookmark was not given by this publisher")
)

// BookmarkEarliest asks Subscribe to replay every indication still kept.
const BookmarkEarliest = "earliest"

// Config configures a Publisher.
type Config struct {
	// Registry holds the CIM_Inst* classes (schemas/CIM_Event.mof).
	Registry cim.Registry
	// Host is written as SourceInstanceHost.
	Host string
	// History is how many indications are kept for bookmarks
	// (DefaultHistory when 0).
	History int
	// Now returns the current time (time.Now).
	Now func() time.Time
}

// Indication is one published indication.
type Indication struct {
	// Instance is the CIM_InstCreation, CIM_InstModification or
	// CIM_InstDeletion; it must not be modified.
	Instance *cim.Instance
	// Bookmark names the position after this indication.
	Bookmark string
}

// Publisher is safe for concurrent use.
type Publisher struct {
	reg     cim.Registry
	host    string
	history int
	now     func() time.Time
	epoch   string // SequenceContext: new at every start, so old bookmarks are told apart
	classes map[string]*cim.Class

	pubMu sync.Mutex // serializes publications, so subscribers see one order
	seq   uint64
	kept  []Indication // the last history indications, oldest first
	first uint64       // sequence number of kept[0]

	subMu sync.Mutex
	subs  atomic.Pointer[[]*subscriber] // copy on write under subMu
}

type subscriber struct {
	match     func(*cim.Instance) bool
	deliver   func(Indication)
	cancelled atomic.Bool
}

// New returns a Publisher; the registry must define the CIM_Inst* classes.
func New(cfg Config) (*Publisher, error) {
	p := &Publisher{reg: cfg.Registry, host: cfg.Host, history: cfg.History, now: cfg.Now,
		epoch: uuid.NewString(), classes: make(map[string]*cim.Class)}
	if p.history <= 0 {
		p.history = DefaultHistory
	}
	if p.now == nil {
		p.now = time.Now
	}
	for _, name := range []string{ClassInstCreation, ClassInstModification, ClassInstDeletion} {
		c, ok := cfg.Registry.Class(name)
		if !ok {
			return nil, fmt.Errorf("indication: the registry has no class %s", name)
		}
		p.classes[name] = c
	}
	p.subs.Store(&[]*subscriber{})
	return p, nil
}

// Created publishes a CIM_InstCreation for inst, the instance as created.
// The Publisher keeps inst: the caller must not modify it afterwards.
func (p *Publisher) Created(inst *cim.Instance) { p.publish(ClassInstCreation, inst, nil) }

// Modified publishes a CIM_InstModification: inst as it is now, prev as it
// was before (nil when unknown). Both are kept; neither may be modified
// afterwards.
func (p *Publisher) Modified(prev, inst *cim.Instance) {
	p.publish(ClassInstModification, inst, prev)
}

// Deleted publishes a CIM_InstDeletion for inst, the instance as it was.
// The Publisher keeps inst.
func (p *Publisher) Deleted(inst *cim.Instance) { p.publish(ClassInstDeletion, inst, nil) }

func (p *Publisher) publish(class string, src, prev *cim.Instance) {
	if src == nil {
		return
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	p.seq++
	ind := cim.NewInstance(p.classes[class], src.Namespace)
	ind.MustSet("IndicationIdentifier", p.epoch+":"+strconv.FormatUint(p.seq, 10))
	ind.MustSet("IndicationTime", cim.Timestamp(p.now()))
	ind.MustSet("PerceivedSeverity", 2) // Information
	ind.MustSet("SequenceContext", p.epoch)
	ind.MustSet("SequenceNumber", int64(p.seq))
	ind.MustSet("SourceInstance", src)
	ind.MustSet("SourceInstanceModelPath", src.Path().String())
	if p.host != "" {
		ind.MustSet("SourceInstanceHost", p.host)
	}
	if prev != nil && class == ClassInstModification {
		ind.MustSet("PreviousInstance", prev)
	}
	in := Indication{Instance: ind, Bookmark: p.bookmark(p.seq)}
	if len(p.kept) == 0 {
		p.first = p.seq
	}
	p.kept = append(p.kept, in)
	if len(p.kept) > p.history {
		p.kept[0] = Indication{}
		p.kept = p.kept[1:]
		p.first++
	}
	for _, s := range *p.subs.Load() {
		if !s.cancelled.Load() && s.match(ind) {
			s.deliver(in)
		}
	}
}

func (p *Publisher) bookmark(seq uint64) string {
	return p.epoch + ":" + strconv.FormatUint(seq, 10)
}

// Subscribe calls deliver, in order, with every later indication that
// match accepts, until cancel is called. With a bookmark it first replays
// the kept indications after it (BookmarkEarliest: all kept ones);
// ErrBookmarkInvalid or ErrBookmarkExpired when it cannot. deliver must
// not block; it may call cancel.
func (p *Publisher) Subscribe(match func(*cim.Instance) bool, bookmark string, deliver func(Indication)) (cancel func(), err error) {
	s := &subscriber{match: match, deliver: deliver}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if bookmark != "" {
		from, err := p.resume(bookmark)
		if err != nil {
			return nil, err
		}
		for _, in := range p.kept {
			if seqOf(in.Bookmark) > from && !s.cancelled.Load() && match(in.Instance) {
				deliver(in)
			}
		}
	}
	p.subMu.Lock()
	if !s.cancelled.Load() { // deliver may have cancelled it during the replay
		subs := append(append([]*subscriber(nil), *p.subs.Load()...), s)
		p.subs.Store(&subs)
	}
	p.subMu.Unlock()
	return func() { p.unsubscribe(s) }, nil
}

// resume returns the sequence number a bookmark names (0 for the earliest).
func (p *Publisher) resume(bookmark string) (uint64, error) {
	if bookmark == BookmarkEarliest {
		return 0, nil
	}
	epoch, n, ok := strings.Cut(bookmark, ":")
	seq, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || epoch != p.epoch || seq > p.seq {
		return 0, ErrBookmarkInvalid
	}
	if len(p.kept) > 0 && seq+1 < p.first {
		return 0, ErrBookmarkExpired
	}
	return seq, nil
}

func seqOf(bookmark string) uint64 {
	_, n, _ := strings.Cut(bookmark, ":")
	seq, _ := strconv.ParseUint(n, 10, 64)
	return seq
}

func (p *Publisher) unsubscribe(s *subscriber) {
	s.cancelled.Store(true)
	p.subMu.Lock()
	defer p.subMu.Unlock()
	old := *p.subs.Load()
	subs := make([]*subscriber, 0, len(old))
	for _, o := range old {
		if o != s {
			subs = append(subs, o)
		}
	}
	p.subs.Store(&subs)
}

// Subscribers returns the number of active subscribers.
func (p *Publisher) Subscribers() int { return len(*p.subs.Load()) }
