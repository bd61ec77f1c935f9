package migrate

import "time"

// This file holds the vocabulary of a cluster of hosts that its
// implementation (migrate/fleet) and its readers (the CIM providers)
// share: the members, the placement of a VM, and the drain of a host.

// Member is a host registered in a cluster: what it says about itself
// under its lease. A host whose lease lapses is no member.
type Member struct {
	Name         string    `json:"name"` // as destinations name it
	UUID         string    `json:"uuid,omitempty"`
	Endpoint     string    `json:"endpoint,omitempty"` // WS-Management URL
	Version      string    `json:"version,omitempty"`
	Health       string    `json:"health"` // "ok", or what is wrong
	Hypervisor   string    `json:"hypervisor,omitempty"`
	CPUs         int       `json:"cpus,omitempty"`
	CPUModel     string    `json:"cpu_model,omitempty"`
	MemoryKiB    uint64    `json:"memory_kib"`
	FreeKiB      uint64    `json:"free_kib"`
	Networks     []string  `json:"networks,omitempty"`
	StoragePools []string  `json:"storage_pools,omitempty"`
	MaxIncoming  int       `json:"max_incoming"`
	MaxOutgoing  int       `json:"max_outgoing"`
	Draining     bool      `json:"draining,omitempty"` // never a destination while set
	Updated      time.Time `json:"updated"`
}

// Healthy reports whether m says it is well.
func (m Member) Healthy() bool { return m.Health == "ok" }

// Placement is where a VM would go, and why not elsewhere.
type Placement struct {
	VM     string `json:"vm"`
	VMName string `json:"vm_name"`
	// Dest is the chosen host; "" if none can take the VM, and then
	// Reason says why.
	Dest       string      `json:"dest,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is one host placement considered.
type Candidate struct {
	Host   string `json:"host"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"` // why not
	// Load is the migrations running or queued to it, planned ones
	// included; FreeKiB its free memory less what they take.
	Load    int    `json:"load"`
	FreeKiB uint64 `json:"free_kib"`
}

// DrainState is where the drain of a host is. Stored: never renumber.
type DrainState int

const (
	DrainRunning    DrainState = iota + 1
	DrainStopping              // cancel requested: no new migration starts
	DrainCompleted             // every VM moved
	DrainIncomplete            // ended with VMs that could not move (DrainVM.Reason)
	DrainCancelled             // cancelled; the VMs not moved stay
	DrainFailed                // could not go on (DrainRecord.Error)
)

// Terminal reports whether s is a final state.
func (s DrainState) Terminal() bool { return s >= DrainCompleted }

func (s DrainState) String() string {
	switch s {
	case DrainRunning:
		return "running"
	case DrainStopping:
		return "stopping"
	case DrainCompleted:
		return "completed"
	case DrainIncomplete:
		return "incomplete"
	case DrainCancelled:
		return "cancelled"
	case DrainFailed:
		return "failed"
	}
	return "unknown"
}

// DrainVMState is where one VM of a drain is. Stored: never renumber.
type DrainVMState int

const (
	VMPending   DrainVMState = iota + 1 // not started yet
	VMMigrating                         // its migration job (JobID) runs
	VMMoved                             // it runs on Dest
	VMStays                             // it cannot move: Reason says why
	VMSkipped                           // not started: the drain was cancelled
)

func (s DrainVMState) String() string {
	switch s {
	case VMPending:
		return "pending"
	case VMMigrating:
		return "migrating"
	case VMMoved:
		return "moved"
	case VMStays:
		return "cannot move"
	case VMSkipped:
		return "skipped"
	}
	return "unknown"
}

// DrainRecord is the durable record of a drain: the plan, each VM's
// state and the migration jobs it owns.
type DrainRecord struct {
	ID        string     `json:"id"`
	Host      string     `json:"host"`
	Owner     string     `json:"owner,omitempty"`
	State     DrainState `json:"state"`
	Submitted time.Time  `json:"submitted"`
	Ended     time.Time  `json:"ended,omitzero"`
	Error     string     `json:"error,omitempty"`
	VMs       []DrainVM  `json:"vms"`
	Jobs      []string   `json:"jobs,omitempty"` // every migration job it started, in order
	Stop      Stop       `json:"stop,omitempty"`
	Changed   time.Time  `json:"changed"`
	Meta      Meta       `json:"meta"`
	Percent   int        `json:"percent"`
	Status    string     `json:"status"`
}

// DrainVM is one VM of a drain.
type DrainVM struct {
	VM        string       `json:"vm"`
	Name      string       `json:"name"`
	MemoryKiB uint64       `json:"memory_kib"`
	Dest      string       `json:"dest,omitempty"` // planned, then actual
	State     DrainVMState `json:"state"`
	Reason    string       `json:"reason,omitempty"`
	JobID     string       `json:"job,omitempty"` // the current or last job
	Attempts  int          `json:"attempts,omitempty"`
}

// ClusterJobState is an unfinished job as the cluster shows it.
type ClusterJobState struct {
	ClusterJob
	Running bool // it holds a slot; else it is queued
}

// DrainRequest asks for the drain of a host.
type DrainRequest struct {
	// ID names the drain; the caller chooses it (vsm makes a CIM
	// InstanceID).
	ID    string
	Owner string
	// Meta is given to the migration jobs the drain submits.
	Meta Meta
}
