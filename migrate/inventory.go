package migrate

import "context"

// This file is what the engine answers about its jobs and its host, so
// that callers (the CIM providers) need neither the store nor the driver.

// Job returns the record of a job; ErrNoJob if the store has none.
func (e *Engine) Job(ctx context.Context, id string) (*Job, error) {
	return e.store.Get(ctx, id)
}

// Jobs returns every job the store holds, ordered by Submitted.
func (e *Engine) Jobs(ctx context.Context) ([]*Job, error) {
	return e.store.List(ctx)
}

// DeleteJob removes the record of a finished job: ErrUnfinished if it has
// not ended, ErrNoJob if there is none.
func (e *Engine) DeleteJob(ctx context.Context, id string) error {
	j, err := e.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if !j.Status.Terminal() {
		return ErrUnfinished
	}
	return e.store.Delete(ctx, id)
}

// UpdateMeta changes the Meta of a job with fn (only Meta: the rest of
// the record is the engine's) and returns the job as stored.
func (e *Engine) UpdateMeta(ctx context.Context, id string, fn func(m *Meta)) (*Job, error) {
	return e.store.Update(ctx, id, func(j *Job) error {
		fn(&j.Meta)
		return nil
	})
}

// Host returns facts about the local host, as its driver reports them.
func (e *Engine) Host(ctx context.Context) (Host, error) { return e.local.Host(ctx) }

// Domains lists the VMs of the local host.
func (e *Engine) Domains(ctx context.Context) ([]Domain, error) { return e.local.Domains(ctx) }

// Domain returns the VM with the given UUID (any case); ErrNoDomain if the
// local host has none.
func (e *Engine) Domain(ctx context.Context, uuid string) (Domain, error) {
	return e.local.Domain(ctx, canonicalUUID(uuid))
}

// HostResources names the local host's virtual networks and storage
// pools; ErrUnsupported if its driver cannot say (see Resourcer).
func (e *Engine) HostResources(ctx context.Context) (Resources, error) {
	if r, ok := e.local.(Resourcer); ok {
		return r.HostResources(ctx)
	}
	return Resources{}, ErrUnsupported
}

// DomainResources names the networks and storage pools a local VM uses;
// ErrUnsupported if the driver cannot say.
func (e *Engine) DomainResources(ctx context.Context, uuid string) (Resources, error) {
	if r, ok := e.local.(Resourcer); ok {
		return r.DomainResources(ctx, canonicalUUID(uuid))
	}
	return Resources{}, ErrUnsupported
}
