package libvirt

import (
	"context"
	"errors"
	"fmt"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// Attach returns a handle on an outgoing migration of plan's VM that
// libvirt is already running (started before a daemon restart); ErrNoJob
// if there is none. The handle's Done closes when libvirt's job ends; its
// outcome is decided by Locate: on the destination means success.
func (d *Driver) Attach(ctx context.Context, plan migrate.Plan) (migrate.Migration, error) {
	u, err := parseUUID(plan.VM)
	if err != nil {
		return nil, err
	}
	type found struct {
		dom golibvirt.Domain
		st  jobStats
		xml string
	}
	f, err := call(ctx, d.main, "find migration job", func(h hypervisor) (found, error) {
		dom, err := h.DomainLookupByUUID(u)
		if err != nil {
			return found{}, err
		}
		typ, params, err := h.DomainGetJobStats(dom, 0)
		if err != nil {
			return found{}, err
		}
		xml, err := h.DomainGetXMLDesc(dom, golibvirt.DomainXMLMigratable)
		return found{dom, decodeJobStats(typ, params), xml}, err
	})
	if err != nil {
		if isNotRunning(err) {
			return nil, fmt.Errorf("libvirt: VM %s: %w", plan.VM, migrate.ErrNoJob)
		}
		return nil, err
	}
	if f.st.Type != golibvirt.DomainJobUnbounded && f.st.Type != golibvirt.DomainJobBounded {
		return nil, fmt.Errorf("libvirt: VM %s: %w", plan.VM, migrate.ErrNoJob)
	}
	if op := f.st.operation(); op != golibvirt.DomainJobOperationStrUnknown && op != golibvirt.DomainJobOperationStrMigrationOut {
		return nil, fmt.Errorf("libvirt: VM %s has a job that is not an outgoing migration (operation %d): %w",
			plan.VM, op, migrate.ErrNoJob)
	}
	// The disks it moves: what a failure leaves to remove, what a
	// completion may remove on the source. Without an answer from the
	// destination, the migration is followed all the same.
	sm, err := d.attachedDisks(ctx, plan, f.dom, f.xml)
	if err != nil {
		d.log.Warn("attached migration: cannot tell what it does with the disks; their copies are left to the operator",
			"vm", plan.VM, "err", err)
		sm = nil
	}
	m := d.newMigration(plan, f.dom)
	if m == nil {
		return nil, migrate.ErrShuttingDown
	}
	m.sawJob = true
	m.storage = sm
	if sm != nil {
		m.memory = sm.memory
	}
	m.last = f.st.progress(m.memory)
	m.started = time.Now().Add(-m.last.Elapsed)
	d.log.Info("attached to a running migration", "vm", plan.VM, "dest", plan.DestURI)
	go m.watch()
	return m, nil
}

// watch follows an attached migration's job, by its events and its
// statistics, until it leaves the source, then decides the outcome from
// where the VM runs.
func (m *migration) watch() {
	m.listen()
	if !m.poll(&conn{uri: m.d.cfg.URI, open: m.d.open}) {
		m.finish(migrate.Result{}, errors.New("libvirt: driver closed while watching the migration"))
		return
	}
	m.settle()
}

// settle ends an attached migration according to Locate.
func (m *migration) settle() {
	total := time.Since(m.started)
	ctx, cancel := context.WithTimeout(context.Background(), 2*m.d.cfg.DestTimeout)
	defer cancel()
	var loc migrate.Location
	var err error
	// The job can vanish from the source a moment before the destination
	// has finished: give the hand-over a few seconds to settle.
	for range 10 {
		loc, err = m.d.Locate(ctx, m.plan)
		if err == nil && loc != migrate.LocationBoth {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	switch {
	case err != nil:
		m.finish(migrate.Result{TotalTime: total}, fmt.Errorf("libvirt: migration ended, VM not located: %w", err))
	case loc == migrate.LocationDestination:
		m.finish(m.finalResult(context.Background(), total), nil)
	case loc == migrate.LocationSource:
		m.finish(migrate.Result{TotalTime: total}, errors.New("libvirt: the migration ended with the VM still on the source"))
	default:
		m.finish(migrate.Result{TotalTime: total}, fmt.Errorf("libvirt: the migration ended with the VM at location %d", loc))
	}
}
