// Command downtime gives a libvirt migration the downtime limit vsmigd
// gives its own, so that bench-lab compares vsmigd and virsh doing the same
// migration: virsh migrate has no option for it, and libvirt resets QEMU's
// limit when the migration job starts, so the limit is set, as vsmigd
// does, once the job exists.
//
//	downtime URI DOMAIN MILLISECONDS
//
// It polls the domain's job every 50 ms, sets the limit when a job runs and
// exits 0; it exits 1 if no job shows up within a minute.
package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "downtime:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: downtime URI DOMAIN MILLISECONDS")
	}
	u, err := url.Parse(args[0])
	if err != nil {
		return err
	}
	ms, err := strconv.ParseUint(args[2], 10, 64)
	if err != nil {
		return fmt.Errorf("milliseconds %q: %w", args[2], err)
	}
	l, err := libvirt.ConnectToURI(u)
	if err != nil {
		return err
	}
	defer l.Disconnect()
	dom, err := l.DomainLookupByName(args[1])
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		typ, _, _, _, _, _, _, _, _, _, _, _, err := l.DomainGetJobInfo(dom)
		if err != nil || libvirt.DomainJobType(typ) == libvirt.DomainJobNone {
			continue
		}
		return l.DomainMigrateSetMaxDowntime(dom, ms, 0)
	}
	return fmt.Errorf("no migration job of %s within a minute", args[1])
}
