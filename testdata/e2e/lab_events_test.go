//go:build lab

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman/client"
)

// TestLabVMIndications (issue #13): the virtual systems' indications on
// real libvirt, from each host's own vsmigd. A Pull subscription on B to
// CIM_InstCreation of CIM_ComputerSystem and one on A to CIM_InstDeletion
// see the guest arrive on B and leave A as vsmigd on A migrates it (B's
// vsmigd learns of it from libvirt's lifecycle events, not from a job);
// then the guest is moved back. Setup as TestLab.
func TestLabVMIndications(t *testing.T) {
	requirePython(t)
	l := loadLab(t)
	g := l.guests[0]
	a := startDaemon(t, l.hostA, labFlags(l.uriA, l.hostA)...)
	b := startDaemon(t, l.hostB, labFlags(l.uriB, l.hostB)...)
	ca, cb := labClient(t, a), labClient(t, b)
	ctx := t.Context()
	arrivals, err := cb.SubscribePull(ctx, client.AllClassesURI, client.SubscribeOptions{Expires: 10 * time.Minute,
		Query: "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_ComputerSystem"})
	if err != nil {
		t.Fatal(err)
	}
	departures, err := ca.SubscribePull(ctx, client.AllClassesURI, client.SubscribeOptions{Expires: 10 * time.Minute,
		Query: "SELECT * FROM CIM_InstDeletion WHERE SourceInstance ISA CIM_ComputerSystem"})
	if err != nil {
		t.Fatal(err)
	}
	r := step(t, a, "migrate", g, l.hostB)
	if r["rc"] != "4096" {
		t.Fatalf("migrate: %v", r)
	}
	if w := step(t, a, "wait", r["job"]); w["state"] != "7" {
		t.Fatalf("job ended %v", w)
	}
	waitIndication(t, cb, arrivals, g, "arrival on B")
	waitIndication(t, ca, departures, g, "departure from A")
	ca.Unsubscribe(context.Background(), departures)
	cb.Unsubscribe(context.Background(), arrivals)

	back := step(t, b, "migrate", g, l.hostA)
	if back["rc"] != "4096" {
		t.Fatalf("migrate back: %v", back)
	}
	if w := step(t, b, "wait", back["job"]); w["state"] != "7" {
		t.Fatalf("job back ended %v", w)
	}
	l.requireRunsOn(t, g, l.uriA)
}

// labClient is a WS-Man client of d that trusts its certificate.
func labClient(t *testing.T, d *daemon) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: d.Endpoint, User: testUser, Password: testPassword,
		CAFile: filepath.Join(d.stateDir, "cert.pem")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitIndication pulls s until an indication whose SourceInstance is the
// virtual system named name arrives (60 s at most).
func waitIndication(t *testing.T, c *client.Client, s *client.Subscription, name, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := c.PullEvents(t.Context(), s, 20, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, ev := range evs {
			for _, e := range ev.FindElements(".//ElementName") {
				if strings.TrimSpace(e.Text()) == name {
					t.Logf("%s: %s", what, ev.Tag)
					return
				}
			}
		}
	}
	t.Fatalf("no indication of the %s of %s", what, name)
}
