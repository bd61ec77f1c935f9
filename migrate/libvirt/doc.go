// Package libvirt is the migrate.Driver for KVM/QEMU hosts managed by
// libvirt, spoken to through github.com/digitalocean/go-libvirt (pure Go,
// no cgo).
//
// A migration is a peer-to-peer DomainMigratePerform3Params call: the
// source libvirtd connects to the destination itself and runs the whole
// Begin/Prepare/Perform/Finish/Confirm protocol, so this process needs a
// connection to the source only (plus short-lived ones to the destination
// for checks, Locate, and final statistics when the source's event is
// missing). The call blocks until the
// migration ends, so it runs on its own goroutine and its own connection.
// A poller reads the job statistics on a third connection (libvirt holds
// that call for seconds in the finish phase, so Progress returns the last
// sample at once), and abort and downtime changes go over the driver's
// main connection (libvirt serves those alongside the migration job).
// If the perform call's connection breaks, the migration goes on inside
// the source libvirtd; the handle then follows the job like Attach does.
//
// go-libvirt has no context support: every call here runs on a goroutine
// and, when ctx ends first, the connection under it is closed, which
// unblocks the call; the next call reconnects.
//
// URIs: qemu:///system (local socket, ?socket= honoured), qemu+unix,
// qemu+tcp, qemu+tls (?pkipath=, ?no_verify=1) and qemu+ssh (our own
// dialer on golang.org/x/crypto/ssh: ?keyfile=, ?known_hosts=, ?socket=,
// user and port; ?no_verify=1 accepts a host not in known_hosts yet, never
// a changed key). Not supported: SASL authentication (go-libvirt has none;
// use auth_tcp=none on a trusted network, or TLS), qemu+libssh/libssh2 and
// qemu+ext. The integration tests run the local socket, qemu+tcp, qemu+tls
// and qemu+ssh against real libvirtd daemons (the lab of testdata/lab),
// with live migrations over each, and a strict TLS one (MIGRATE_TLS) whose
// peer-to-peer connection and QEMU stream are both TLS.
//
// Events: each migration also subscribes, on a connection of its own, to
// its domain's lifecycle, migration-iteration and job-completed events
// (see events.go): the iterations reach the engine at once
// (migrate.IterationNotifier), the pause for the final copy and the
// hand-over show in Progress.Phase and end the poller without waiting for
// libvirt's finish phase, and the source's JOB_COMPLETED statistics are
// the final figures, so a completed migration needs no question to the
// destination (which answers when the event is missing). go-libvirt drops
// JOB_COMPLETED undecoded; tap.go reads it off the connection instead.
//
// Imports: the standard library, migrate, go-libvirt, beevik/etree,
// google/uuid and golang.org/x/crypto/ssh.
package libvirt
