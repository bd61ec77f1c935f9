package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// hypervisor is the part of *golibvirt.Libvirt the driver uses. It is the
// seam unit tests fake; *golibvirt.Libvirt satisfies it as is.
type hypervisor interface {
	ConnectGetCapabilities() (string, error)
	ConnectGetHostname() (string, error)
	ConnectGetVersion() (uint64, error)
	ConnectGetLibVersion() (uint64, error)
	ConnectCompareCPU(xml string, flags golibvirt.ConnectCompareCPUFlags) (int32, error)
	NodeGetInfo() (model [32]int8, memory uint64, cpus int32, mhz int32, nodes int32, sockets int32, cores int32, threads int32, err error)
	NodeGetFreeMemory() (uint64, error)
	ConnectListAllDomains(need int32, flags golibvirt.ConnectListAllDomainsFlags) ([]golibvirt.Domain, uint32, error)
	DomainLookupByUUID(golibvirt.UUID) (golibvirt.Domain, error)
	DomainLookupByName(string) (golibvirt.Domain, error)
	DomainGetInfo(golibvirt.Domain) (state uint8, maxMem uint64, memory uint64, vcpus uint16, cpuTime uint64, err error)
	DomainGetState(golibvirt.Domain, uint32) (state int32, reason int32, err error)
	DomainIsPersistent(golibvirt.Domain) (int32, error)
	DomainGetXMLDesc(golibvirt.Domain, golibvirt.DomainXMLFlags) (string, error)
	DomainMigratePerform3Params(golibvirt.Domain, golibvirt.OptString, []golibvirt.TypedParam, []byte, golibvirt.DomainMigrateFlags) ([]byte, error)
	DomainGetJobStats(golibvirt.Domain, golibvirt.DomainGetJobStatsFlags) (int32, []golibvirt.TypedParam, error)
	DomainAbortJob(golibvirt.Domain) error
	DomainMigrateSetMaxDowntime(golibvirt.Domain, uint64, uint32) error
	DomainMigrateStartPostCopy(golibvirt.Domain, uint32) error
	DomainShutdown(golibvirt.Domain) error
	DomainCreate(golibvirt.Domain) error
	DomainDestroy(golibvirt.Domain) error
	DomainUndefineFlags(golibvirt.Domain, golibvirt.DomainUndefineFlagsValues) error
	DomainGetBlockInfo(dom golibvirt.Domain, path string, flags uint32) (allocation, capacity, physical uint64, err error)
	// Storage and networks: the storage plan (storage.go, probe.go) and
	// the destination's networks for the VM's NICs (network.go).
	StoragePoolLookupByName(string) (golibvirt.StoragePool, error)
	StoragePoolLookupByTargetPath(string) (golibvirt.StoragePool, error)
	StoragePoolGetInfo(golibvirt.StoragePool) (state uint8, capacity, allocation, available uint64, err error)
	StoragePoolGetXMLDesc(golibvirt.StoragePool, golibvirt.StorageXMLFlags) (string, error)
	StoragePoolRefresh(golibvirt.StoragePool, uint32) error
	StorageVolLookupByName(golibvirt.StoragePool, string) (golibvirt.StorageVol, error)
	StorageVolLookupByPath(string) (golibvirt.StorageVol, error)
	StorageVolGetPath(golibvirt.StorageVol) (string, error)
	StorageVolCreateXML(golibvirt.StoragePool, string, golibvirt.StorageVolCreateFlags) (golibvirt.StorageVol, error)
	StorageVolDelete(golibvirt.StorageVol, golibvirt.StorageVolDeleteFlags) error
	NetworkLookupByName(string) (golibvirt.Network, error)
	NetworkIsActive(golibvirt.Network) (int32, error)
	InterfaceLookupByName(string) (golibvirt.Interface, error)
	// SubscribeEvents streams events of one kind until ctx ends.
	SubscribeEvents(ctx context.Context, id golibvirt.DomainEventID, dom golibvirt.OptDomain) (<-chan any, error)
}

var _ hypervisor = (*golibvirt.Libvirt)(nil)

// session is one open connection to a libvirtd.
type session struct {
	h hypervisor
	// closed is closed when the connection is lost (never for fakes).
	closed <-chan struct{}
	// kill drops the connection at once, unblocking calls in flight.
	kill func()
}

// opener opens a session; tests replace it with a fake.
type opener func(ctx context.Context, uri string) (*session, error)

// conn is a lazily (re)opened connection to one libvirtd, shared by
// concurrent callers.
type conn struct {
	uri  string
	open opener

	mu     sync.Mutex
	s      *session
	closed bool // by close: no reconnecting
}

var errClosed = errors.New("connection closed by the driver")

// get returns the live session, opening a new one if there is none or the
// last one was lost.
func (c *conn) get(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if c.s != nil {
		select {
		case <-c.s.closed:
			c.s = nil
		default:
			return c.s, nil
		}
	}
	s, err := c.open(ctx, c.uri)
	if err != nil {
		return nil, err
	}
	c.s = s
	return s, nil
}

// drop kills s if it is still the current session.
func (c *conn) drop(s *session) {
	c.mu.Lock()
	if c.s == s {
		c.s = nil
	}
	c.mu.Unlock()
	s.kill()
}

// close kills the current session, if any, for good.
func (c *conn) close() {
	c.mu.Lock()
	s := c.s
	c.s = nil
	c.closed = true
	c.mu.Unlock()
	if s != nil {
		s.kill()
	}
}

// call runs f against c's session, bounded by ctx: if ctx ends first, the
// session is killed (go-libvirt calls cannot be cancelled otherwise) and
// ctx's error returned. op names the call in errors.
func call[T any](ctx context.Context, c *conn, op string, f func(h hypervisor) (T, error)) (T, error) {
	var zero T
	s, err := c.get(ctx)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", op, err)
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f(s.h)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return zero, wrapErr(op, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		c.drop(s)
		return zero, fmt.Errorf("%s: %w", op, ctx.Err())
	}
}

// call0 is call for functions with no result but an error.
func call0(ctx context.Context, c *conn, op string, f func(h hypervisor) error) error {
	_, err := call(ctx, c, op, func(h hypervisor) (struct{}, error) { return struct{}{}, f(h) })
	return err
}

// dialTimeout bounds the TCP/TLS/SSH dial when ctx has no earlier deadline.
const dialTimeout = 10 * time.Second

// openLibvirt is the real opener: it dials uri with go-libvirt, bounded
// by ctx.
func openLibvirt(ctx context.Context, uri string) (*session, error) {
	return openLibvirtTapped(ctx, uri, nil)
}

// tappedOpener is openLibvirt with on fed the JOB_COMPLETED events the
// connection carries (see tap.go).
func tappedOpener(on jobCompletedHook) opener {
	return func(ctx context.Context, uri string) (*session, error) { return openLibvirtTapped(ctx, uri, on) }
}

func openLibvirtTapped(ctx context.Context, uri string, on jobCompletedHook) (*session, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %q: %w", uri, err)
	}
	d, err := dialerFor(u, dialTimeoutFor(ctx))
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %q: %w", uri, err)
	}
	rd := &recordingDialer{d: d, on: on}
	l := golibvirt.NewWithDialer(rd)
	done := make(chan error, 1)
	go func() { done <- l.ConnectToURI(golibvirt.RemoteURI(u)) }()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", uri, err)
		}
	case <-ctx.Done():
		rd.close()
		go func() { <-done }()
		return nil, fmt.Errorf("connect to %s: %w", uri, ctx.Err())
	}
	return &session{
		h:      l,
		closed: l.Disconnected(),
		kill: func() {
			// Closing the socket first unblocks calls in flight even if
			// the daemon hangs; Disconnect then cleans go-libvirt up.
			rd.close()
			go func() { _ = l.Disconnect() }()
		},
	}, nil
}

func dialTimeoutFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < dialTimeout {
			return max(d, time.Millisecond)
		}
	}
	return dialTimeout
}

// recordingDialer remembers the connection it dialled, so it can be
// closed from outside go-libvirt.
type recordingDialer struct {
	d  socket.Dialer
	on jobCompletedHook // if set, the connection is tapped for it
	mu sync.Mutex
	c  net.Conn
}

func (r *recordingDialer) Dial() (net.Conn, error) {
	c, err := r.d.Dial()
	if err == nil && r.on != nil {
		c = &tapConn{Conn: c, tap: frameTap{on: r.on}}
	}
	if err == nil {
		r.mu.Lock()
		r.c = c
		r.mu.Unlock()
	}
	return c, err
}

func (r *recordingDialer) close() {
	r.mu.Lock()
	c := r.c
	r.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// transport returns the transport of a libvirt URI: "unix" for local
// URIs, "tls" for remote ones without "+transport" (libvirt's default).
func transport(u *url.URL) string {
	if _, t, ok := strings.Cut(u.Scheme, "+"); ok {
		return t
	}
	if u.Host != "" {
		return "tls"
	}
	return "unix"
}

// dialerFor picks the go-libvirt dialer for a libvirt URI.
func dialerFor(u *url.URL, timeout time.Duration) (socket.Dialer, error) {
	q := u.Query()
	switch t := transport(u); t {
	case "unix":
		opts := []dialers.LocalOption{dialers.WithLocalTimeout(timeout)}
		if s := q.Get("socket"); s != "" {
			opts = append(opts, dialers.WithSocket(s))
		}
		return dialers.NewLocal(opts...), nil
	case "tcp":
		opts := []dialers.RemoteOption{dialers.WithRemoteTimeout(timeout)}
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UsePort(p))
		}
		return dialers.NewRemote(u.Hostname(), opts...), nil
	case "tls":
		var opts []dialers.TLSOption
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseTLSPort(p))
		}
		pki := q.Get("pkipath")
		if pki != "" {
			opts = append(opts, dialers.UsePKIPath(pki))
		} else {
			pki = "libvirt's default paths"
		}
		if noVerify(q) {
			opts = append(opts, dialers.WithInsecureNoVerify())
		}
		return &tlsDialer{d: dialers.NewTLS(u.Hostname(), opts...), pki: pki}, nil
	case "ssh":
		return newSSHDialer(u, timeout)
	default:
		return nil, fmt.Errorf("transport %q: %w", t, errUnsupportedTransport)
	}
}

var errUnsupportedTransport = errors.New("not supported by this driver")

func noVerify(q url.Values) bool {
	n, _ := strconv.Atoi(q.Get("no_verify"))
	return n != 0
}
