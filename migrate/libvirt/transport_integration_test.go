//go:build integration

// Integration tests of the driver over qemu+tls and qemu+ssh, against the
// lab's TLS listeners (port 16514, certificates of the lab CA) and its
// per-host sshd (see testdata/lab/README.md). Each test migrates a guest
// of its own, added with testdata/lab/guest.sh and removed at the end, so
// it neither disturbs nor depends on the lab's vsmig-g* guests.
//
//	bash testdata/lab/up.sh && . testdata/lab/env.sh
//	go test -tags integration -run 'TLS|SSH' -v ./migrate/libvirt/
package libvirt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

var (
	labPKI   = env("VSMIG_LAB_PKI", filepath.Join(labDir, "pki/client"))
	tlsURIA  = env("VSMIG_LAB_TLS_URI_A", "qemu+tls://127.0.0.2/system?pkipath="+labPKI)
	tlsURIB  = env("VSMIG_LAB_TLS_URI_B", "qemu+tls://127.0.0.3/system?pkipath="+labPKI)
	sshKey   = env("VSMIG_LAB_SSH_KEY", filepath.Join(labDir, "ssh/id_ed25519"))
	sshKnown = env("VSMIG_LAB_SSH_KNOWN_HOSTS", filepath.Join(labDir, "ssh/known_hosts"))
	sshURIA  = env("VSMIG_LAB_SSH_URI_A", "qemu+ssh://root@127.0.0.2/system?keyfile="+sshKey+"&known_hosts="+sshKnown)
	sshURIB  = env("VSMIG_LAB_SSH_URI_B", "qemu+ssh://root@127.0.0.3/system?keyfile="+sshKey+"&known_hosts="+sshKnown)
)

// assertSameHost checks that d, over the transport under test, sees the
// host the qemu+tcp driver ref sees. Memory figures are left out: libvirt
// reports them differently from call to call on this machine.
func assertSameHost(t *testing.T, d, ref *Driver) {
	t.Helper()
	ctx := context.Background()
	got, err := d.Host(ctx)
	if err != nil {
		t.Fatalf("Host over %s: %v", d.URI(), err)
	}
	want, err := ref.Host(ctx)
	if err != nil {
		t.Fatalf("Host over %s: %v", ref.URI(), err)
	}
	if got.Name != want.Name || got.UUID != want.UUID || got.CPUModel != want.CPUModel ||
		got.Hypervisor != want.Hypervisor || got.MemoryKiB == 0 {
		t.Errorf("Host over %s = %+v, over %s = %+v", d.URI(), got, ref.URI(), want)
	}
	t.Logf("host over %s: %s %s %s", d.URI(), got.Name, got.UUID, got.Hypervisor)
}

// assertSameDomains checks that d and the qemu+tcp driver ref list the
// same VMs. Other users of the lab may change them meanwhile, hence the
// retries.
func assertSameDomains(t *testing.T, d, ref *Driver) {
	t.Helper()
	ctx := context.Background()
	names := func(drv *Driver) map[string]string {
		doms, err := drv.Domains(ctx)
		if err != nil {
			t.Fatalf("Domains over %s: %v", drv.URI(), err)
		}
		m := make(map[string]string, len(doms))
		for _, dom := range doms {
			m[dom.UUID] = dom.Name
		}
		return m
	}
	var got, want map[string]string
	for range 3 {
		got, want = names(d), names(ref)
		if sameMap(got, want) {
			t.Logf("%d domains over %s, as over %s", len(got), d.URI(), ref.URI())
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("Domains over %s = %v, over %s = %v", d.URI(), got, ref.URI(), want)
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkCtx bounds a Check: it answers in milliseconds when all is well.
func checkCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// guestUUID returns the UUID of the guest name, which must be on A.
func guestUUID(t *testing.T, a *Driver, name string) string {
	t.Helper()
	dom, ok := findGuest(t, a, name)
	if !ok {
		t.Fatalf("guest %s is not on A", name)
	}
	return dom.UUID
}

// leg is one migration of a there-and-back test.
type leg struct {
	name     string
	src      *Driver // starts the migration
	plan     migrate.Plan
	wantHere *Driver // sees the guest running afterwards
	// during, if set, is called once in pre-copy.
	during func(t *testing.T)
}

// legTimeout bounds one migration: they take 3-10 s on this machine.
const legTimeout = 2 * time.Minute

// migrateLegs runs the legs in turn, each a full live migration of guest
// name, and checks the outcome of each like TestLiveMigrationThereAndBack.
func migrateLegs(t *testing.T, name string, legs ...leg) {
	t.Helper()
	for _, l := range legs {
		t.Run(l.name, func(t *testing.T) {
			offset := fileSize(t, serialLog(name))
			m, err := l.src.Start(context.Background(), l.plan)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			// Bounded: a migration that has not ended in legTimeout is
			// aborted, which fails the leg below.
			var late atomic.Bool
			stop := time.AfterFunc(legTimeout, func() {
				late.Store(true)
				_ = m.Abort(context.Background())
			})
			defer stop.Stop()
			var s sampler
			s.run(m, 200*time.Millisecond, func(p migrate.Progress) {
				if l.during != nil && p.Phase == "precopy" {
					l.during(t)
					l.during = nil
				}
			})
			res, err := m.Result()
			if late.Load() {
				t.Fatalf("migration to %s not done after %v, aborted: %v", l.plan.DestURI, legTimeout, err)
			}
			if err != nil {
				t.Fatalf("migration to %s failed: %v", l.plan.DestURI, err)
			}
			if l.during != nil {
				t.Errorf("the migration ended before pre-copy was seen")
			}
			t.Logf("%s over %s, p2p to %s: total %v, downtime %v, iterations %d, data %.1f MiB",
				l.plan.Transport, l.src.URI(), l.plan.DestURI, res.TotalTime.Round(time.Millisecond),
				res.Downtime, res.Iterations, float64(res.DataTransferred)/mib)
			if res.TotalTime <= 0 || res.DataTransferred == 0 {
				t.Errorf("incomplete result %+v", res)
			}
			ctx := context.Background()
			if loc, err := l.src.Locate(ctx, l.plan); err != nil || loc != migrate.LocationDestination {
				t.Errorf("Locate = %v, %v; want destination", loc, err)
			}
			got, err := l.wantHere.Domain(ctx, l.plan.VM)
			if err != nil || got.State != migrate.StateRunning || !got.Persistent {
				t.Errorf("on destination: %+v, %v", got, err)
			}
			if _, err := l.src.Domain(ctx, l.plan.VM); !errors.Is(err, migrate.ErrNoDomain) {
				t.Errorf("source still has the VM: %v", err)
			}
			waitGuestHealthy(t, name, offset)
		})
	}
}

// driversOver returns drivers for hosts A and B over the given URIs,
// having checked that they see the same host facts and domains as drivers
// over qemu+tcp.
func driversOver(t *testing.T, uriOfA, uriOfB string) (a, b *Driver) {
	t.Helper()
	tcpA, tcpB := labDriver(t, uriA, hostA), labDriver(t, uriB, hostB)
	a, b = labDriver(t, uriOfA, hostA), labDriver(t, uriOfB, hostB)
	assertSameHost(t, a, tcpA)
	assertSameHost(t, b, tcpB)
	assertSameDomains(t, a, tcpA)
	assertSameDomains(t, b, tcpB)
	return a, b
}

// TestTLSTransport drives both hosts over qemu+tls with the lab's client
// certificate, and migrates peer-to-peer over TLS too: the destination
// URI carries the same pkipath, which the source libvirtd honours.
func TestTLSTransport(t *testing.T) {
	const name = "vsmig-tls"
	addGuest(t, name, "", "")
	a, b := driversOver(t, tlsURIA, tlsURIB)

	vm := guestUUID(t, a, name)
	toB := migrate.Plan{VM: vm, Type: migrate.Live, DestHost: hostB, Transport: migrate.TLS, DestURI: tlsURIB}
	if err := checkAsEngine(checkCtx(t), a, toB); err != nil {
		t.Fatalf("Check over TLS: %v", err)
	}
	toA := migrate.Plan{VM: vm, Type: migrate.Live, DestHost: hostA, Transport: migrate.TLS, DestURI: tlsURIA}
	migrateLegs(t, name, leg{"A to B", a, toB, b, nil}, leg{"B to A", b, toA, a, nil})
}

// requireLabSSH skips a test on the stock lab, which runs no sshd (its
// hosts' daemons are chrooted into a Debian 12 root; see
// testdata/lab/README.md).
func requireLabSSH(t *testing.T) {
	t.Helper()
	if os.Getenv("VSMIG_LAB_FLAVOUR") == "stock" {
		t.Skip("the stock lab has no sshd")
	}
}

// TestSSHTransport drives both hosts over qemu+ssh (the driver's SSH
// dialer, a direct-streamlocal channel to each host's libvirt-sock). The
// migrations themselves go peer-to-peer over qemu+tcp: over qemu+ssh the
// source libvirtd would run ssh(1), which keeps host keys in root's
// ~/.ssh/known_hosts, a file of the machine the lab does not touch.
func TestSSHTransport(t *testing.T) {
	requireLabSSH(t)
	const name = "vsmig-ssh"
	addGuest(t, name, "", "")
	a, b := driversOver(t, sshURIA, sshURIB)

	vm := guestUUID(t, a, name)
	// Check's own connection to the destination goes over SSH.
	overSSH := migrate.Plan{VM: vm, Type: migrate.Live, DestHost: hostB, Transport: migrate.SSH, DestURI: sshURIB}
	if err := checkAsEngine(checkCtx(t), a, overSSH); err != nil {
		t.Fatalf("Check with an SSH destination: %v", err)
	}
	toB, toA := plan(vm, hostB, uriB), plan(vm, hostA, uriA)
	if err := checkAsEngine(checkCtx(t), a, toB); err != nil {
		t.Fatalf("Check: %v", err)
	}
	migrateLegs(t, name, leg{"A to B", a, toB, b, nil}, leg{"B to A", b, toA, a, nil})

	// The host key is checked: against a known_hosts file that does not
	// list the host, the connection is refused, unless no_verify=1 accepts
	// new hosts; against one with another key for it, always.
	t.Run("host keys", func(t *testing.T) {
		dir := t.TempDir()
		empty := filepath.Join(dir, "empty")
		wrong := filepath.Join(dir, "wrong")
		lab, err := os.ReadFile(sshKnown)
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := os.ReadFile(filepath.Join(labDir, "hosts/b/ssh/ssh_host_ed25519_key.pub"))
		if err != nil {
			t.Fatal(err)
		}
		// B's key under A's name: a changed host key.
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(lab)), "\n") {
			if f := strings.Fields(l); len(f) >= 3 && strings.Contains(f[0], hostA) {
				k := strings.Fields(string(foreign))
				lines = append(lines, f[0]+" "+k[0]+" "+k[1])
			}
		}
		if len(lines) == 0 {
			t.Fatalf("%s has no line for %s", sshKnown, hostA)
		}
		for f, b := range map[string]string{empty: "", wrong: strings.Join(lines, "\n") + "\n"} {
			if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			name, known string
			noVerify    bool
			wantErr     string
		}{
			{"unknown host", empty, false, "key is unknown"},
			{"unknown host, new hosts accepted", empty, true, ""},
			{"changed host key", wrong, false, "key mismatch"},
			{"changed host key, new hosts accepted", wrong, true, "key mismatch"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				u, err := url.Parse(sshURIA)
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				q.Set("known_hosts", tt.known)
				if tt.noVerify {
					q.Set("no_verify", "1")
				}
				u.RawQuery = q.Encode()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				d, err := New(ctx, Config{URI: u.String()})
				if err == nil {
					d.Close()
				}
				t.Logf("%s: %v", u, err)
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Errorf("New = %v, want error %q", err, tt.wantErr)
				}
			})
		}
	})

	// Closing the driver closes its SSH connections: none is left open to
	// A's sshd after a few drivers came and went.
	t.Run("no SSH connection left behind", func(t *testing.T) {
		before := sshSessions(t, hostA)
		for range 3 {
			d := labDriver(t, sshURIA, hostA)
			if _, err := d.Host(context.Background()); err != nil {
				t.Fatal(err)
			}
			d.Close()
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := sshSessions(t, hostA)
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d SSH connections to %s open after the drivers closed, %d before", n, hostA, before)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// sshSessions counts the established TCP connections to host's sshd.
func sshSessions(t *testing.T, host string) int {
	t.Helper()
	port := env("VSMIG_LAB_SSH_PORT", "22")
	out, err := exec.Command("ss", "-Htn", "state", "established", "dst", host+":"+port).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	return len(strings.Fields(strings.TrimSpace(string(out)))) / 4
}

// TestTLSStrictPeerToPeer: TransportType 4, TLS Strict. The source
// libvirtd dials the destination over TLS with certificates verified
// (the URI has no no_verify) and, with libvirt's MIGRATE_TLS, QEMU
// encrypts the migration stream itself with the hosts' certificates
// (qemu.conf's default_tls_x509_cert_dir): in pre-copy the source QEMU's
// migration parameters name its TLS credentials and the destination as
// the TLS host name. Both ways.
func TestTLSStrictPeerToPeer(t *testing.T) {
	const name = "vsmig-tlsstrict"
	addGuest(t, name, "", "")
	a, b := labDriver(t, tlsURIA, hostA), labDriver(t, tlsURIB, hostB)
	vm := guestUUID(t, a, name)
	strict := func(host, uri string) migrate.Plan {
		return migrate.Plan{VM: vm, Type: migrate.Live, DestHost: host, Transport: migrate.TLSStrict, DestURI: uri}
	}
	toB, toA := strict(hostB, tlsURIB), strict(hostA, tlsURIA)
	if err := checkAsEngine(checkCtx(t), a, toB); err != nil {
		t.Fatalf("Check: %v", err)
	}
	streamTLS := func(src, dest string) func(t *testing.T) {
		return func(t *testing.T) {
			s, err := openLibvirt(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			defer s.kill()
			l := s.h.(*golibvirt.Libvirt)
			dom, err := l.DomainLookupByName(name)
			if err != nil {
				t.Fatal(err)
			}
			out, err := l.QEMUDomainMonitorCommand(dom, `{"execute":"query-migrate-parameters"}`, 0)
			if err != nil {
				t.Errorf("query-migrate-parameters: %v", err)
				return
			}
			var r struct {
				Return struct {
					Creds    string `json:"tls-creds"`
					Hostname string `json:"tls-hostname"`
				} `json:"return"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Errorf("query-migrate-parameters: %v: %s", err, out)
				return
			}
			t.Logf("source QEMU in pre-copy: tls-creds %q, tls-hostname %q", r.Return.Creds, r.Return.Hostname)
			if r.Return.Creds == "" || r.Return.Hostname != dest {
				t.Errorf("the migration stream is not TLS to %s: %s", dest, out)
			}
		}
	}
	migrateLegs(t, name,
		leg{"A to B", a, toB, b, streamTLS(uriA, hostB)},
		leg{"B to A", b, toA, a, streamTLS(uriB, hostA)})
}

// TestTLSForeignCertificates: certificates of another CA fail the
// connection at once with an error that says so, on either side.
func TestTLSForeignCertificates(t *testing.T) {
	labCA, err := os.ReadFile(filepath.Join(labPKI, "cacert.pem"))
	if err != nil {
		t.Fatalf("the lab's CA: %v (is the lab up? bash testdata/lab/up.sh)", err)
	}
	foreign := newCA(t, "foreign CA")
	tests := []struct {
		name string
		ca   []byte   // cacert.pem: whom the client trusts
		want []string // one of them in the error
	}{
		// The server's certificate is not of the CA the client trusts.
		{"foreign CA", foreign.certPEM, []string{"certificate signed by unknown authority"}},
		// The client's certificate is not of the CA libvirtd trusts. Go's
		// TLS client then sends none (libvirtd's CertificateRequest names
		// the CAs it accepts), libvirtd logs "No certificate was found"
		// and hangs up before its one-byte verdict; the driver says so.
		{"foreign client certificate", labCA, []string{"refused our client certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cert, key := foreign.issue(t, "foreign client")
			for f, b := range map[string][]byte{"cacert.pem": tt.ca, "clientcert.pem": cert, "clientkey.pem": key} {
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			uri := "qemu+tls://" + hostA + "/system?pkipath=" + dir
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			d, err := New(ctx, Config{URI: uri})
			took := time.Since(start)
			if err == nil {
				d.Close()
				t.Fatalf("connected to %s with certificates of another CA", uri)
			}
			t.Logf("refused in %v: %v", took.Round(time.Millisecond), err)
			if took > 10*time.Second {
				t.Errorf("refusal took %v, want well under the dial timeout", took)
			}
			if errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), uri) ||
				!slices.ContainsFunc(tt.want, func(w string) bool { return strings.Contains(err.Error(), w) }) {
				t.Errorf("error %q does not name the URI and one of %q", err, tt.want)
			}
		})
	}
}

// testCA is a throwaway certificate authority.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a client certificate of ca and its key, PEM encoded,
// shaped like the lab's own so that only the CA differs.
func (ca *testCA) issue(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

// TestTLSNoVerify: no_verify=1 skips the check of the server's
// certificate (what migrate.DestURI builds for the TLS transport), while
// libvirtd still insists on a client certificate of its CA.
func TestTLSNoVerify(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"clientcert.pem", "clientkey.pem"} {
		b, err := os.ReadFile(filepath.Join(labPKI, f))
		if err != nil {
			t.Fatalf("the lab's client certificate: %v (is the lab up? bash testdata/lab/up.sh)", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A CA that did not sign libvirtd's certificate.
	if err := os.WriteFile(filepath.Join(dir, "cacert.pem"), newCA(t, "foreign CA").certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	uri := "qemu+tls://" + hostA + "/system?pkipath=" + dir
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if d, err := New(ctx, Config{URI: uri}); err == nil {
		d.Close()
		t.Fatalf("connected to %s, whose certificate the client cannot verify", uri)
	}
	d := labDriver(t, uri+"&no_verify=1", hostA)
	assertSameHost(t, d, labDriver(t, uriA, hostA))
}
