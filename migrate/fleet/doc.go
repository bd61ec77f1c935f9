// Package fleet makes a cluster of vsmig hosts out of etcd
// (go.etcd.io/etcd/client/v3 and its concurrency package): each host's
// vsmigd registers under a lease, the engine's cluster rules
// (migrate.Cluster) are held in etcd, placement chooses a destination
// among the registered hosts, and a drain moves every VM off a host.
//
// Keys, under Config.Prefix ("/vsmig/" by default):
//
//	members/<host>          the host's registration (migrate.Member), under its lease
//	vms/<uuid>              the VM's lock: the job that moves it (migrate.ClusterJob), under the source's lease
//	slots/total/<i>         one of Config.MaxRunning slots of the cluster, held by a running job
//	slots/in/<host>/<i>     one of the destination's MaxIncoming slots, held by a job to it
//	waiters/<job>           a job waiting for slots, under its source's lease (the queue's order)
//	drains/<id>             a drain's record (migrate.DrainRecord), without a lease: it outlives a restart
//	drainlock/<host>/...    the concurrency.Mutex that lets one drain at a time run per host
//
// A host's registration, VM locks and slots live under one lease (a
// concurrency.Session). If the host dies or is cut off from etcd for
// longer than Config.LeaseTTL, etcd deletes them: the host is out of
// every decision and its slots and locks are free. The lease's ID is
// kept in Config.LeaseFile, so a vsmigd that restarts within the TTL
// takes its lease back and with it what it held.
//
// The counting semaphores (the cluster's and each destination's limit)
// are numbered keys taken in one transaction that compares both keys'
// CreateRevision with 0: two hosts never take the same slot, and a job
// holds its cluster and destination slots together or neither. A VM lock
// is a key whose value names the job, so that a restarted host can take
// its own lock back and others can say who holds it; concurrency.Mutex
// has neither (its value is empty and its key is the session's). It
// serves where it fits: one drain per host.
//
// A cache fed by one watch of the prefix answers the reads of Check,
// placement and the cluster view without a request to etcd; only the
// writes (lock, slot, release, drain record, registration changes) are
// requests.
//
// Imports: the standard library, migrate, github.com/google/uuid and the
// etcd client; never cim or wsman.
package fleet
