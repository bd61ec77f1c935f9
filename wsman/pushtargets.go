package wsman

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// PushTargets says where push-style subscriptions (Push, PushWithAck,
// Events) may deliver: the wse:NotifyTo and wse:EndTo addresses an
// authenticated user names make the service open connections there, so
// an operator bounds them, as a firewall would. An address is allowed when
// its host is one of Hosts, or when every address it resolves to (or the
// literal IP it is) is in one of Networks. The check is made at Subscribe,
// which refuses the subscription with wsman:UnsupportedFeature (detail
// AddressingMode) and a reason naming the address, and again on every
// connection, against the address actually dialled, so that a name whose
// resolution changes later (DNS rebinding) cannot lead elsewhere. An
// empty PushTargets allows no push delivery (Pull only).
type PushTargets struct {
	Networks []netip.Prefix
	// Hosts are host names allowed whatever they resolve to, lower case;
	// "*.example.com" allows every name under example.com.
	Hosts []string
}

// ParsePushTargets reads a comma- or space-separated list of networks in
// CIDR notation, IP addresses (one-address networks) and host names (or
// "*.domain" wildcards).
func ParsePushTargets(list string) (*PushTargets, error) {
	pt := &PushTargets{}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			pt.Networks = append(pt.Networks, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			pt.Networks = append(pt.Networks, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(f, "."))
		if !validHostPattern(name) {
			return nil, fmt.Errorf("push target %q is neither a network (CIDR), an IP address nor a host name", f)
		}
		pt.Hosts = append(pt.Hosts, name)
	}
	return pt, nil
}

// validHostPattern accepts DNS names of letters, digits, hyphens and dots,
// optionally starting with "*.".
func validHostPattern(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Empty reports whether pt allows nothing.
func (pt *PushTargets) Empty() bool { return len(pt.Networks) == 0 && len(pt.Hosts) == 0 }

// String lists pt as ParsePushTargets reads it.
func (pt *PushTargets) String() string {
	var parts []string
	for _, n := range pt.Networks {
		parts = append(parts, n.String())
	}
	return strings.Join(append(parts, pt.Hosts...), ",")
}

// hostListed reports whether host (a name, not an address) is one of
// Hosts.
func (pt *PushTargets) hostListed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range pt.Hosts {
		if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

// ipAllowed reports whether a is in one of Networks.
func (pt *PushTargets) ipAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range pt.Networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// errPushTarget is a delivery refused by the PushTargets.
var errPushTarget = errors.New("wsman: the address is not among the allowed push targets")

// check decides whether host (from a delivery URL) is allowed, resolving
// a name that is not listed: nil, or why not, for the client.
func (pt *PushTargets) check(ctx context.Context, resolver *net.Resolver, host string) error {
	if pt.Empty() {
		return errors.New("push delivery is not enabled on this service (its push_targets setting is empty); subscribe with the Pull delivery mode")
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !pt.ipAllowed(a) {
			return fmt.Errorf("%s is not in the networks this service may deliver events to (push_targets)", host)
		}
		return nil
	}
	if pt.hostListed(host) {
		return nil
	}
	if len(pt.Networks) == 0 {
		return fmt.Errorf("host %s is not among the hosts this service may deliver events to (push_targets)", host)
	}
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("host %s cannot be resolved: %v", host, err)
	}
	for _, a := range addrs {
		if !pt.ipAllowed(a) {
			return fmt.Errorf("host %s resolves to %s, which is not in the networks this service may deliver events to (push_targets)", host, a)
		}
	}
	return nil
}

// dialer returns a DialContext that enforces pt on every connection: a
// listed host name is dialled as it resolves, any other address only if
// the IP actually dialled is in Networks.
func (pt *PushTargets) dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	guarded := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !pt.ipAllowed(ap.Addr()) {
				return fmt.Errorf("%w: %s", errPushTarget, address)
			}
			return nil
		}}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, notIP := netip.ParseAddr(host); notIP != nil && pt.hostListed(host) {
			return d.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}
