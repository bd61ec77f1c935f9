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

// NormalizeHost returns host in the form Plan.DestHost holds: an address
// in canonical text without brackets, or a lower-case DNS name.
func NormalizeHost(host string) (string, error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		return a.String(), nil
	}
	if !validDNSName(host) {
		return "", &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("destination host %q is not a DNS name, IPv4 or IPv6 address", host)}
	}
	return strings.ToLower(strings.TrimSuffix(host, ".")), nil
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

// validDNSName accepts RFC 1123 host names: dot-separated labels of
// letters, digits and inner hyphens, 1-63 bytes each, 253 in all, with an
// optional final dot. An all-numeric name is refused (a malformed IPv4).
func validDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	allDigits := true
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				allDigits = false
			default:
				return false
			}
		}
	}
	return !allDigits
}
