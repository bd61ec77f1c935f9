package libvirt

import (
	"context"
	"fmt"
	"sync"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"

	"github.com/vsmig/vsmig/migrate"
)

// fakeHost is a hypervisor in memory, for unit tests of the driver's
// logic. Every session opened on its URI talks to the same fakeHost.
type fakeHost struct {
	mu      sync.Mutex
	uuid    string
	memKiB  uint64
	freeKiB uint64
	cpus    int32
	doms    map[golibvirt.UUID]*fakeDom
	// job is the running job's statistics (type and fields), per domain.
	job       map[golibvirt.UUID]jobStats
	completed map[golibvirt.UUID][]golibvirt.TypedParam
	// perform, if set, carries out DomainMigratePerform3Params.
	perform func(dom golibvirt.Domain, uri string, params []golibvirt.TypedParam, flags golibvirt.DomainMigrateFlags) error
	abort   func(dom golibvirt.Domain) error
	// block, if set, makes NodeGetFreeMemory wait on it (ctx tests).
	block    chan struct{}
	downtime uint64
	kills    int
	// ignoreShutdown makes DomainShutdown a no-op, as for a guest
	// without ACPI handling.
	ignoreShutdown bool
	// subs are the event subscriptions; noEvents makes subscribing fail,
	// as on a libvirtd without these events.
	subs     []*fakeSub
	noEvents bool
	// statsHang, if set, makes DomainGetJobStats of a running job wait on
	// it, as libvirt does in a migration's finish phase.
	statsHang chan struct{}
	// storage holds pools, files and networks (fake_storage_test.go).
	storage *fakeStorage
	// uuidLookups counts DomainLookupByUUID calls.
	uuidLookups int
	// libVersion is the libvirt version the host reports; 0 means 11.3.0.
	libVersion uint64
}

// fakeSub is one SubscribeEvents registration.
type fakeSub struct {
	id  golibvirt.DomainEventID
	ctx context.Context
	ch  chan any
}

type fakeDom struct {
	golibvirt.Domain
	state  golibvirt.DomainState
	memKiB uint64
	vcpus  uint16
	xml    string
	// transient: not defined, as an incoming migration's VM until it
	// finishes.
	transient bool
}

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }

func newFakeHost(hostUUID string) *fakeHost {
	return &fakeHost{uuid: hostUUID, memKiB: 8 << 20, freeKiB: 6 << 20, cpus: 4,
		doms: map[golibvirt.UUID]*fakeDom{}, job: map[golibvirt.UUID]jobStats{},
		completed: map[golibvirt.UUID][]golibvirt.TypedParam{}}
}

func (f *fakeHost) addDomain(id, name string, state golibvirt.DomainState) golibvirt.Domain {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := golibvirt.UUID(uuid.MustParse(id))
	d := &fakeDom{Domain: golibvirt.Domain{Name: name, UUID: u, ID: 1}, state: state, memKiB: 256 << 10, vcpus: 1,
		xml: fmt.Sprintf("<domain type='qemu'><name>%s</name><uuid>%s</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu></domain>", name, id)}
	f.doms[u] = d
	return d.Domain
}

func (f *fakeHost) dom(d golibvirt.Domain) (*fakeDom, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x, ok := f.doms[d.UUID]; ok {
		return x, nil
	}
	return nil, golibvirt.Error{Code: uint32(golibvirt.ErrNoDomain), Message: "Domain not found"}
}

func (f *fakeHost) ConnectGetCapabilities() (string, error) {
	return `<capabilities><host><uuid>` + f.uuid + `</uuid><cpu><arch>x86_64</arch><model>qemu64</model></cpu></host>` +
		`<guest><arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>`, nil
}
func (f *fakeHost) ConnectGetHostname() (string, error) { return "fake", nil }
func (f *fakeHost) ConnectGetVersion() (uint64, error)  { return 7002000, nil }
func (f *fakeHost) ConnectGetLibVersion() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.libVersion == 0 {
		return 11003000, nil
	}
	return f.libVersion, nil
}
func (f *fakeHost) ConnectCompareCPU(string, golibvirt.ConnectCompareCPUFlags) (int32, error) {
	return 1, nil
}
func (f *fakeHost) NodeGetInfo() ([32]int8, uint64, int32, int32, int32, int32, int32, int32, error) {
	return [32]int8{}, f.memKiB, f.cpus, 2000, 1, 1, f.cpus, 1, nil
}
func (f *fakeHost) NodeGetFreeMemory() (uint64, error) {
	if f.block != nil {
		<-f.block
	}
	return f.freeKiB * 1024, nil
}
func (f *fakeHost) ConnectListAllDomains(int32, golibvirt.ConnectListAllDomainsFlags) ([]golibvirt.Domain, uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []golibvirt.Domain
	for _, d := range f.doms {
		out = append(out, d.Domain)
	}
	return out, uint32(len(out)), nil
}
func (f *fakeHost) DomainLookupByUUID(u golibvirt.UUID) (golibvirt.Domain, error) {
	f.mu.Lock()
	f.uuidLookups++
	f.mu.Unlock()
	d, err := f.dom(golibvirt.Domain{UUID: u})
	if err != nil {
		return golibvirt.Domain{}, err
	}
	return d.Domain, nil
}
func (f *fakeHost) DomainLookupByName(name string) (golibvirt.Domain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.doms {
		if d.Name == name {
			return d.Domain, nil
		}
	}
	return golibvirt.Domain{}, golibvirt.Error{Code: uint32(golibvirt.ErrNoDomain), Message: "Domain not found"}
}
func (f *fakeHost) DomainGetInfo(dom golibvirt.Domain) (uint8, uint64, uint64, uint16, uint64, error) {
	d, err := f.dom(dom)
	if err != nil {
		return 0, 0, 0, 0, 0, err
	}
	return uint8(d.state), d.memKiB, d.memKiB, d.vcpus, 0, nil
}
func (f *fakeHost) DomainGetState(dom golibvirt.Domain, _ uint32) (int32, int32, error) {
	d, err := f.dom(dom)
	if err != nil {
		return 0, 0, err
	}
	return int32(d.state), 0, nil
}
func (f *fakeHost) DomainIsPersistent(dom golibvirt.Domain) (int32, error) {
	d, err := f.dom(dom)
	if err != nil || d.transient {
		return 0, err
	}
	return 1, nil
}
func (f *fakeHost) DomainGetXMLDesc(dom golibvirt.Domain, _ golibvirt.DomainXMLFlags) (string, error) {
	d, err := f.dom(dom)
	if err != nil {
		return "", err
	}
	return d.xml, nil
}
func (f *fakeHost) DomainMigratePerform3Params(dom golibvirt.Domain, uri golibvirt.OptString, params []golibvirt.TypedParam, _ []byte, flags golibvirt.DomainMigrateFlags) ([]byte, error) {
	if f.perform == nil {
		return nil, fmt.Errorf("no perform hook")
	}
	return nil, f.perform(dom, uri[0], params, flags)
}
func (f *fakeHost) DomainGetJobStats(dom golibvirt.Domain, flags golibvirt.DomainGetJobStatsFlags) (int32, []golibvirt.TypedParam, error) {
	if _, err := f.dom(dom); err != nil {
		return 0, nil, err
	}
	f.mu.Lock()
	hang := f.statsHang
	f.mu.Unlock()
	if hang != nil && flags&golibvirt.DomainJobStatsCompleted == 0 {
		<-hang
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if flags&golibvirt.DomainJobStatsCompleted != 0 {
		// As libvirt: reading the completed job's statistics forgets
		// them, unless asked to keep them.
		st := f.completed[dom.UUID]
		if flags&golibvirt.DomainJobStatsKeepCompleted == 0 {
			delete(f.completed, dom.UUID)
		}
		return int32(golibvirt.DomainJobCompleted), st, nil
	}
	st, ok := f.job[dom.UUID]
	if !ok {
		return 0, nil, nil
	}
	var params []golibvirt.TypedParam
	for k, v := range st.Fields {
		params = append(params, golibvirt.TypedParam{Field: k, Value: golibvirt.TypedParamValue{D: 4, I: v}})
	}
	return int32(st.Type), params, nil
}
func (f *fakeHost) DomainAbortJob(dom golibvirt.Domain) error {
	if f.abort == nil {
		return golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "no job is active on the domain"}
	}
	return f.abort(dom)
}
func (f *fakeHost) DomainMigrateSetMaxDowntime(_ golibvirt.Domain, ms uint64, _ uint32) error {
	f.mu.Lock()
	f.downtime = ms
	f.mu.Unlock()
	return nil
}
func (f *fakeHost) DomainMigrateStartPostCopy(golibvirt.Domain, uint32) error { return nil }
func (f *fakeHost) DomainShutdown(dom golibvirt.Domain) error {
	d, err := f.dom(dom)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if !f.ignoreShutdown {
		d.state = golibvirt.DomainShutoff
	}
	f.mu.Unlock()
	return nil
}
func (f *fakeHost) DomainCreate(dom golibvirt.Domain) error {
	d, err := f.dom(dom)
	if err != nil {
		return err
	}
	f.mu.Lock()
	d.state = golibvirt.DomainRunning
	f.mu.Unlock()
	return nil
}

func (f *fakeHost) DomainDestroy(dom golibvirt.Domain) error {
	d, err := f.dom(dom)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.state != golibvirt.DomainRunning && d.state != golibvirt.DomainPaused {
		return golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "domain is not running"}
	}
	d.state = golibvirt.DomainShutoff
	return nil
}
func (f *fakeHost) DomainUndefineFlags(dom golibvirt.Domain, _ golibvirt.DomainUndefineFlagsValues) error {
	d, err := f.dom(dom)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.state != golibvirt.DomainShutoff {
		return golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "cannot undefine a running transient domain"}
	}
	delete(f.doms, dom.UUID)
	return nil
}
func (f *fakeHost) SubscribeEvents(ctx context.Context, id golibvirt.DomainEventID, _ golibvirt.OptDomain) (<-chan any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noEvents {
		return nil, golibvirt.Error{Code: uint32(golibvirt.ErrNoSupport), Message: "events not supported"}
	}
	s := &fakeSub{id: id, ctx: ctx, ch: make(chan any)}
	f.subs = append(f.subs, s)
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, x := range f.subs {
			if x == s {
				f.subs = append(f.subs[:i], f.subs[i+1:]...)
				break
			}
		}
		close(s.ch)
	}()
	return s.ch, nil
}

// emit sends an event to the subscribers of id, as go-libvirt does: on an
// unbuffered channel, until the subscriber reads it or goes away.
func (f *fakeHost) emit(id golibvirt.DomainEventID, ev any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.subs {
		if s.id != id {
			continue
		}
		select {
		case s.ch <- ev:
		case <-s.ctx.Done():
		}
	}
}

func (f *fakeHost) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func lifecycleEvent(dom golibvirt.Domain, typ golibvirt.DomainEventType, detail int32) any {
	return &golibvirt.DomainEventCallbackLifecycleMsg{Msg: golibvirt.DomainEventLifecycleMsg{Dom: dom, Event: int32(typ), Detail: detail}}
}

// move hands a domain over to another fake host, as a successful
// migration with PERSIST_DEST|UNDEFINE_SOURCE does.
func (f *fakeHost) move(dom golibvirt.Domain, to *fakeHost, name string) {
	f.mu.Lock()
	d := f.doms[dom.UUID]
	delete(f.doms, dom.UUID)
	delete(f.job, dom.UUID)
	f.mu.Unlock()
	to.mu.Lock()
	nd := *d
	nd.Name = name
	to.doms[dom.UUID] = &nd
	to.mu.Unlock()
}

// fakeNet maps URIs to fake hosts; its opener fails for unknown URIs as
// an unreachable host would.
type fakeNet map[string]*fakeHost

func (n fakeNet) open(_ context.Context, uri string) (*session, error) {
	h, ok := n[uri]
	if !ok {
		return nil, fmt.Errorf("connect to %s: connection refused", uri)
	}
	return &session{h: h, kill: func() { h.mu.Lock(); h.kills++; h.mu.Unlock() }}, nil
}

// checkAsEngine checks p as the engine does: the VM as Domain reads it,
// then Check (a missing VM is Check's to refuse).
func checkAsEngine(ctx context.Context, d *Driver, p migrate.Plan) error {
	_, err := checkDisksAsEngine(ctx, d, p)
	return err
}

// checkDisksAsEngine is checkAsEngine with the disks' assessment.
func checkDisksAsEngine(ctx context.Context, d *Driver, p migrate.Plan) (migrate.Assessment, error) {
	dom, _ := d.Domain(ctx, p.VM)
	return d.Check(ctx, p, dom)
}
