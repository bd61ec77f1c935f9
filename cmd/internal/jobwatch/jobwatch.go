// Package jobwatch follows a CIM_ConcreteJob over WS-Management until it
// ends: by a Pull subscription to the job's CIM_InstModification
// indications when the server takes one (DSP0226 §10, DSP0227 §10.2), by
// polling the job with Get otherwise. A subscription sees each change as
// the server makes it, where polling sees it up to a poll interval late
// and costs a request per interval: vsmigctl's migrate --wait and watch
// use it.
//
// Imports: the standard library, github.com/beevik/etree and
// wsman/client.
package jobwatch

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/client"
)

// Defaults of Config.
const (
	// DefaultPollInterval is the polling of a server that takes no
	// subscription: vsmigd updates a job at least twice a second.
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultPullWait is how long one Pull waits for events: well within
	// the request's OperationTimeout (60 s by default). With no event in
	// that time the job is read once with Get, which mends a lost event.
	DefaultPullWait = 20 * time.Second
	// DefaultExpires is the subscription's lifetime; it is renewed when
	// half of it has passed.
	DefaultExpires = 10 * time.Minute
)

// Config says which job to follow and how.
type Config struct {
	Client *client.Client
	// JobURI is the ResourceURI the job is read with (the
	// CIM_ConcreteJob URI serves any job class), Namespace its CIM
	// namespace, JobID its InstanceID.
	JobURI, Namespace, JobID string
	// OnChange is called with each state of the job seen, in order:
	// first the job as read when the watch starts, then every change; the
	// last call has the job ended. An error stops the watch.
	OnChange func(job *client.Object) error
	// PollInterval (DefaultPollInterval), PullWait (DefaultPullWait) and
	// Expires (DefaultExpires); zero takes the defaults.
	PollInterval, PullWait, Expires time.Duration
	// NoSubscription polls from the start.
	NoSubscription bool
}

// Method is how a job was followed.
type Method int

const (
	Subscribed Method = iota + 1
	Polled
)

func (m Method) String() string {
	if m == Subscribed {
		return "subscription"
	}
	return "polling"
}

// Terminal reports whether a job's JobState has ended (7 Completed, 8
// Terminated, 9 Killed, 10 Exception).
func Terminal(job *client.Object) bool {
	s, _ := strconv.Atoi(job.Get("JobState"))
	return s >= 7 && s <= 10
}

// Follow reports the job's states to cfg.OnChange until it ends, and
// returns it as it ended and how it was followed. It subscribes first (so
// that no change is missed between the first read and the subscription),
// reads the job, then pulls its modifications; it polls instead when the
// server refuses the subscription or the subscription ends before the
// job. A ctx that ends stops it with ctx's error.
func Follow(ctx context.Context, cfg Config) (*client.Object, Method, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.PullWait <= 0 {
		cfg.PullWait = DefaultPullWait
	}
	if cfg.Expires <= 0 {
		cfg.Expires = DefaultExpires
	}
	w := &watcher{cfg: cfg}
	if !cfg.NoSubscription {
		sub, err := w.subscribe(ctx)
		switch {
		case err == nil:
			job, done, err := w.pull(ctx, sub)
			if done || err != nil {
				return job, Subscribed, err
			}
		case ctx.Err() != nil:
			return nil, Subscribed, ctx.Err()
		}
		// The server refused the subscription (a fault: no eventing, no
		// such indication class, a quota; or an answer that is no
		// WS-Management at all): polling works around it, and reports
		// the errors polling would meet too (the network, credentials).
	}
	job, err := w.poll(ctx)
	return job, Polled, err
}

type watcher struct {
	cfg  Config
	last *client.Object // the last state reported
}

func (w *watcher) selectors() map[string]string {
	sel := map[string]string{"InstanceID": w.cfg.JobID}
	if w.cfg.Namespace != "" {
		sel["__cimnamespace"] = w.cfg.Namespace
	}
	return sel
}

// subscribe subscribes to the job's modifications, on the all-classes
// URI with the WQL filter Windows and openwsman clients write.
func (w *watcher) subscribe(ctx context.Context) (*client.Subscription, error) {
	if strings.ContainsAny(w.cfg.JobID, `'"\`) {
		return nil, &client.Fault{Reason: "the job ID cannot be quoted in WQL"}
	}
	q := fmt.Sprintf("SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob AND SourceInstance.InstanceID = '%s'", w.cfg.JobID)
	return w.cfg.Client.SubscribePull(ctx, client.AllClassesURI, client.SubscribeOptions{Query: q, Expires: w.cfg.Expires})
}

// pull follows the job on sub. done reports that the job ended; false
// with no error means the subscription ended first (poll instead).
func (w *watcher) pull(ctx context.Context, sub *client.Subscription) (job *client.Object, done bool, err error) {
	c := w.cfg.Client
	defer func() {
		// The subscription ends with the watch, whatever ended it; a
		// cancelled ctx must not keep the server's subscription alive.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		c.Unsubscribe(uctx, sub)
		cancel()
	}()
	if ended, err := w.read(ctx); ended || err != nil {
		return w.last, ended, err
	}
	renewed := time.Now()
	for {
		evs, err := c.PullEvents(ctx, sub, 32, w.cfg.PullWait)
		if err != nil {
			if ctx.Err() != nil {
				return w.last, false, ctx.Err()
			}
			return w.last, false, nil // the subscription is gone: poll
		}
		if len(evs) == 0 || dropped(evs) {
			// Nothing for a while, or the server's queue overflowed:
			// read the job, so that nothing missed stays unseen.
			if ended, err := w.read(ctx); ended || err != nil {
				return w.last, ended, err
			}
		}
		for _, ev := range evs {
			src := sourceInstance(ev)
			if src == nil {
				continue
			}
			if ended, err := w.report(client.DecodeObject(src)); ended || err != nil {
				return w.last, ended, err
			}
		}
		if time.Since(renewed) > w.cfg.Expires/2 {
			if err := c.Renew(ctx, sub, w.cfg.Expires); err != nil {
				return w.last, false, nil
			}
			renewed = time.Now()
		}
	}
}

// poll follows the job by Get every PollInterval.
func (w *watcher) poll(ctx context.Context) (*client.Object, error) {
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		if ended, err := w.read(ctx); ended || err != nil {
			return w.last, err
		}
		select {
		case <-ctx.Done():
			return w.last, ctx.Err()
		case <-t.C:
		}
	}
}

// read reads the job and reports it.
func (w *watcher) read(ctx context.Context) (bool, error) {
	job, err := w.cfg.Client.Get(ctx, w.cfg.JobURI, w.selectors())
	if err != nil {
		return false, err
	}
	return w.report(job)
}

// report passes a state of the job on, unless it is older than the last
// one reported (an indication queued before the first read; a state never
// goes back, nor PercentComplete within a state). It reports whether the
// job has ended.
func (w *watcher) report(job *client.Object) (bool, error) {
	if w.last != nil && older(job, w.last) {
		return false, nil
	}
	w.last = job
	if err := w.cfg.OnChange(job); err != nil {
		return false, err
	}
	return Terminal(job), nil
}

// older reports whether a is an earlier state of the job than b: its
// JobState comes before b's (2 New, 3 Starting, 4 Running, 6 Shutting
// Down, then the ends), or, in the same state, its PercentComplete is
// lower.
func older(a, b *client.Object) bool {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra < rb
	}
	pa, _ := a.Uint("PercentComplete")
	pb, _ := b.Uint("PercentComplete")
	return pa < pb
}

func rank(job *client.Object) int {
	switch s, _ := strconv.Atoi(job.Get("JobState")); {
	case s >= 7 && s <= 10:
		return 5
	case s == 6:
		return 4
	case s == 5 || s == 4:
		return 3
	case s == 3:
		return 2
	case s == 2:
		return 1
	}
	return 0
}

// sourceInstance returns the instance an indication carries.
func sourceInstance(ev *etree.Element) *etree.Element {
	for _, c := range ev.ChildElements() {
		if c.Tag == "SourceInstance" {
			if kids := c.ChildElements(); len(kids) == 1 {
				return kids[0]
			}
		}
	}
	return nil
}

// dropped reports whether the server says events were dropped
// (wsman:DroppedEvents).
func dropped(evs []*etree.Element) bool {
	for _, e := range evs {
		if e.Tag == "DroppedEvents" {
			return true
		}
	}
	return false
}
