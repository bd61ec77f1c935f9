package migrate

import (
	"fmt"
	"net/netip"
	"strings"
)

// DestURI builds the libvirt URI of the destination hypervisor for host
// (a DNS name, IPv4 or IPv6 address; IPv6 may come bracketed) and t.
//
//	TCP        qemu+tcp://host/system            plaintext, port 16509
//	TLS        qemu+tls://host/system?no_verify=1 encrypted, certificate not verified
//	TLSStrict  qemu+tls://host/system            encrypted and verified
//	SSH        qemu+ssh://host/system
//
// The SSH URI names no user: in a peer-to-peer migration the source
// libvirtd, which runs as root, opens it, so ssh logs in as root (or as
// root's ~/.ssh/config says) without our saying so.
//
// An invalid host or transport is a *CheckError of kind InvalidParameter.
func DestURI(host string, t Transport) (string, error) {
	h, err := uriHost(host)
	if err != nil {
		return "", err
	}
	switch t {
	case TCP:
		return "qemu+tcp://" + h + "/system", nil
	case TLS:
		return "qemu+tls://" + h + "/system?no_verify=1", nil
	case TLSStrict:
		return "qemu+tls://" + h + "/system", nil
	case SSH:
		return "qemu+ssh://" + h + "/system", nil
	}
	return "", &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("transport type %d is not SSH (2), TLS (3), TLS strict (4) or TCP (5)", t)}
}

// NormalizeHost checks a destination host and returns it in the form
// Plan.DestHost holds. It is the one grammar of destination hosts in
// vsmig (DSP1081's DestinationHostFormatsSupported 2, 3, 4):
//
//   - a DNS name: RFC 1035 labels of letters, digits and inner hyphens,
//     digits allowed first (RFC 1123), 1-63 bytes each, 253 in all, an
//     optional final dot; returned in lower case without the dot;
//   - an IPv4 address in dotted decimal (anything made of digits and dots
//     must be one: "10.0.0" is neither an address nor a host name);
//   - an IPv6 address, optionally in brackets; no zone (a migration URI
//     cannot carry one portably).
//
// Addresses come back in canonical text without brackets; the unspecified
// and multicast addresses are refused. A refusal is a *CheckError of kind
// InvalidParameter.
func NormalizeHost(host string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf(format, args...)}
	}
	if host == "" {
		return bad("no destination host")
	}
	h := host
	bracketed := strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")
	if bracketed {
		h = h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") || dottedNumbers(h) {
		a, err := netip.ParseAddr(h)
		switch {
		case err != nil:
			return bad("destination host %q is neither a DNS name nor an IPv4 or IPv6 address", host)
		case a.Zone() != "":
			return bad("destination host %q: IPv6 zones are not supported", host)
		case a.IsUnspecified() || a.IsMulticast():
			return bad("destination host %q is not a host address", host)
		}
		return a.String(), nil
	}
	if bracketed {
		return bad("destination host %q: only IPv6 addresses may be bracketed", host)
	}
	if err := checkDNSName(h); err != nil {
		return bad("destination host %q is not a valid DNS name: %v", host, err)
	}
	return strings.ToLower(strings.TrimSuffix(h, ".")), nil
}

// dottedNumbers reports whether s is made only of digits and dots, the
// shape of an IPv4 address.
func dottedNumbers(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// checkDNSName applies the RFC 1035 (2.3.1) preferred name syntax with
// RFC 1123's leading digits.
func checkDNSName(s string) error {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 {
		return fmt.Errorf("length %d is not within 1..253", len(s))
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return fmt.Errorf("label %q is not 1..63 characters long", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q begins or ends with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return fmt.Errorf("label %q contains %q", label, c)
			}
		}
	}
	return nil
}

// uriHost is host as it goes in a URI authority: IPv6 bracketed.
func uriHost(host string) (string, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return "", err
	}
	if strings.Contains(h, ":") { // IPv6, IPv4-mapped included
		return "[" + h + "]", nil
	}
	return h, nil
}
