package libvirt

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/digitalocean/go-libvirt/socket"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// tlsDialer is go-libvirt's TLS dialer with a readable refusal. libvirtd
// closes the connection after the handshake, before its one-byte verdict,
// when it does not accept our client certificate (Go sends none when the
// server asks for one of a CA we have no certificate from), and go-libvirt
// passes on the bare io.EOF.
type tlsDialer struct {
	d   socket.Dialer
	pki string // where the client certificate came from, for the message
}

func (t *tlsDialer) Dial() (net.Conn, error) {
	c, err := t.d.Dial()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("libvirtd closed the TLS connection without accepting us: "+
			"it refused our client certificate (from %s) or it was signed by a CA libvirtd does not trust: %w", t.pki, err)
	}
	return c, err
}

// sshDialer reaches a libvirtd's unix socket through SSH (qemu+ssh) with
// the Go SSH client. It is ours, not go-libvirt's, because that one never
// closes its SSH client: every session left an SSH connection, and an
// sshd process on the host, behind. Here closing the tunnelled connection
// closes the client too.
//
// As libvirt's own SSH transports: user and port from the URI (default
// the current user and 22); keys from ?keyfile= or the usual ~/.ssh ones,
// and the SSH agent if SSH_AUTH_SOCK is set; the host key checked against
// ?known_hosts= (default ~/.ssh/known_hosts), where ?no_verify=1 accepts
// a host the file does not know yet but still refuses a changed key.
type sshDialer struct {
	addr   string // host:port
	socket string // the remote libvirtd socket
	config *ssh.ClientConfig
}

// defaultRemoteSocket is libvirtd's read-write socket on the far host.
const defaultRemoteSocket = "/var/run/libvirt/libvirt-sock"

func newSSHDialer(u *url.URL, timeout time.Duration) (*sshDialer, error) {
	q := u.Query()
	me, err := user.Current()
	if err != nil {
		return nil, err
	}
	name := u.User.Username()
	if name == "" {
		name = me.Username
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	knownHosts := q.Get("known_hosts")
	if knownHosts == "" {
		knownHosts = filepath.Join(me.HomeDir, ".ssh", "known_hosts")
	}
	hostKey, err := hostKeyCallback(knownHosts, noVerify(q))
	if err != nil {
		return nil, err
	}
	auth, err := sshAuth(q.Get("keyfile"), me.HomeDir)
	if err != nil {
		return nil, err
	}
	sock := q.Get("socket")
	if sock == "" {
		sock = defaultRemoteSocket
	}
	return &sshDialer{
		addr:   net.JoinHostPort(u.Hostname(), port),
		socket: sock,
		config: &ssh.ClientConfig{User: name, Auth: auth, HostKeyCallback: hostKey, Timeout: timeout},
	}, nil
}

func (d *sshDialer) Dial() (net.Conn, error) {
	client, err := ssh.Dial("tcp", d.addr, d.config)
	if err != nil {
		return nil, fmt.Errorf("ssh to %s: %w", d.addr, err)
	}
	c, err := client.Dial("unix", d.socket)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ssh to %s: libvirt socket %s: %w", d.addr, d.socket, err)
	}
	return &sshConn{Conn: c, client: client}, nil
}

// sshConn is a connection through an SSH client that it owns.
type sshConn struct {
	net.Conn
	client *ssh.Client
}

func (c *sshConn) Close() error {
	err := c.Conn.Close()
	if cerr := c.client.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// hostKeyCallback checks host keys against a known_hosts file. With
// acceptNew, a host the file has no key for (or a missing file) is
// accepted; a host whose key differs from the file's never is.
func hostKeyCallback(file string, acceptNew bool) (ssh.HostKeyCallback, error) {
	check, err := knownhosts.New(file)
	if err != nil {
		if acceptNew && errors.Is(err, os.ErrNotExist) {
			return func(string, net.Addr, ssh.PublicKey) error { return nil }, nil
		}
		return nil, fmt.Errorf("ssh known hosts: %w (add the host's key, or accept new hosts with no_verify=1)", err)
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if acceptNew && errors.As(err, &ke) && len(ke.Want) == 0 {
			return nil
		}
		return err
	}, nil
}

// sshAuth returns the public-key methods: the agent's keys, if an agent
// runs, and the key file (keyfile, else the first of the usual ones that
// exists).
func sshAuth(keyfile, home string) ([]ssh.AuthMethod, error) {
	var signers []ssh.Signer
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			if s, err := agent.NewClient(c).Signers(); err == nil {
				signers = append(signers, s...)
			}
		}
	}
	files := []string{keyfile}
	if keyfile == "" {
		files = nil
		for _, k := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			files = append(files, filepath.Join(home, ".ssh", k))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) && keyfile == "" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ssh key: %w", err)
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("ssh key %s: %w", f, err)
		}
		signers = append(signers, s)
		break
	}
	if len(signers) == 0 {
		return nil, errors.New("ssh: no key (give keyfile=, or run an SSH agent)")
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, nil
}
