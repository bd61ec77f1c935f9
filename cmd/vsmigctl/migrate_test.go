package main

import (
	"context"
	"flag"
	"strings"
	"testing"
)

// TestRefusalReasons: a refused Migrate or Check prints the reason from
// the output's Error when there is one and the return code's meaning
// otherwise, and exits with the return code.
func TestRefusalReasons(t *testing.T) {
	f := newFakeServer(t, false)
	for _, tc := range []struct {
		name    string
		method  string
		output  string
		args    []string
		code    int
		want    string
		notWant string
	}{
		{
			name:   "migrate refused with a reason",
			method: "MigrateVirtualSystemToHost",
			output: `<p:ReturnValue>5</p:ReturnValue>` + cimError("5", "virtual machine web-01 is already migrating"),
			args:   []string{"migrate", "web-01", "host-b"},
			code:   5,
			want:   "MigrateVirtualSystemToHost returned 5 (invalid state): virtual machine web-01 is already migrating",
		},
		{
			name:   "migrate refused with a reason and --wait",
			method: "MigrateVirtualSystemToHost",
			output: `<p:ReturnValue>6</p:ReturnValue>` + cimError("6", "a domain named \"web-01\" already exists on host-b"),
			args:   []string{"migrate", "--wait", "web-01", "host-b"},
			code:   6,
			want:   `returned 6 (incompatible parameters): a domain named "web-01" already exists on host-b`,
		},
		{
			name:    "migrate refused by a server that gives no reason",
			method:  "MigrateVirtualSystemToHost",
			output:  `<p:ReturnValue>5</p:ReturnValue>`,
			args:    []string{"migrate", "web-01", "host-b"},
			code:    5,
			want:    "returned 5 (invalid state): the VM is not in a state to migrate",
			notWant: "gave no reason",
		},
		{
			name:   "migrate with an unknown return code",
			method: "MigrateVirtualSystemToHost",
			output: `<p:ReturnValue>32770</p:ReturnValue>`,
			args:   []string{"migrate", "web-01", "host-b"},
			code:   exitFailure,
			want:   "returned 32770 (unknown return code): the server gave no reason",
		},
		{
			name:   "check refused to answer, with a reason",
			method: "CheckVirtualSystemIsMigratableToHost",
			output: `<p:ReturnValue>4</p:ReturnValue>` + cimError("4", "destination host \"-x\" is malformed"),
			args:   []string{"check", "web-01", "host-b"},
			code:   4,
			want:   `CheckVirtualSystemIsMigratableToHost returned 4 (invalid parameter): destination host "-x" is malformed`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.setOutput(tc.method, tc.output)
			out, errOut, code := runCtl(t.Context(), against(f), tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || (tc.notWant != "" && strings.Contains(errOut, tc.notWant)) {
				t.Errorf("exit %d (want %d); stderr lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// TestCheckAnswers: check exits 0 for yes and 7 (not a CIM return code)
// for no, with the reason.
func TestCheckAnswers(t *testing.T) {
	f := newFakeServer(t, false)
	const method = "CheckVirtualSystemIsMigratableToHost"
	f.setOutput(method, `<p:IsMigratable>true</p:IsMigratable><p:ReturnValue>0</p:ReturnValue>`)
	if out, errOut, code := runCtl(t.Context(), against(f), "check", "web-01", "host-b"); code != 0 || !strings.Contains(out, "yes") {
		t.Errorf("migratable: exit %d\n%s%s", code, out, errOut)
	}
	f.setOutput(method, `<p:IsMigratable>false</p:IsMigratable>`+cimError("6", "the guest's CPU model X is not available on host-c")+`<p:ReturnValue>0</p:ReturnValue>`)
	out, errOut, code := runCtl(t.Context(), against(f), "check", "web-01", "host-c")
	if code != exitNotMigrating || code == 1 || !strings.Contains(out, "no: the guest's CPU model X is not available on host-c") {
		t.Errorf("not migratable: exit %d, want %d\n%s%s", code, exitNotMigrating, out, errOut)
	}
	// What happens to each disk (vsmigd's StoragePlan) is printed too.
	f.setOutput(method, `<p:IsMigratable>true</p:IsMigratable>`+
		`<p:StoragePlan>vda: copied to /var/lib/libvirt/images/w.qcow2 on the destination (1.0 GiB)</p:StoragePlan>`+
		`<p:StoragePlan>vdb: shared, not copied (/srv/data.qcow2)</p:StoragePlan><p:ReturnValue>0</p:ReturnValue>`)
	out, errOut, code = runCtl(t.Context(), against(f), "check", "web-01", "host-b")
	if code != 0 || !strings.Contains(out, "Disks:") || !strings.Contains(out, "vda: copied to /var/lib/libvirt/images/w.qcow2") ||
		!strings.Contains(out, "vdb: shared, not copied") {
		t.Errorf("disks: exit %d\n%s%s", code, out, errOut)
	}
	f.setOutput(method, `<p:ReturnValue>1</p:ReturnValue>`)
	if _, errOut, code := runCtl(t.Context(), against(f), "check", "web-01", "host-c"); code != 1 || !strings.Contains(errOut, "not supported") {
		t.Errorf("Not Supported: exit %d, want 1\n%s", code, errOut)
	}
}

// TestUntrustedCertificate: a certificate that does not verify is
// explained, with the way to pin vsmigd's own.
func TestUntrustedCertificate(t *testing.T) {
	f := newFakeServer(t, true)
	env := against(f)
	delete(env, "VSMIG_INSECURE")
	_, errOut, code := runCtl(t.Context(), env, "identify")
	for _, want := range []string{"certificate", "vsmigd fingerprint", "--fingerprint", "VSMIG_FINGERPRINT", "--ca-file"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	// A plain connection failure gets no such advice.
	env["VSMIG_ENDPOINT"] = "https://127.0.0.1:1/wsman"
	if _, errOut, code := runCtl(t.Context(), env, "identify"); code != exitUnavailable || strings.Contains(errOut, "fingerprint") {
		t.Errorf("unreachable server: exit %d\n%s", code, errOut)
	}
}

// TestInterruptedWait: interrupting migrate --wait (or watch) says that
// the job goes on and how to follow or cancel it, and exits 130.
func TestInterruptedWait(t *testing.T) {
	f := newFakeServer(t, false)
	f.setOutput("MigrateVirtualSystemToHost", `<p:ReturnValue>4096</p:ReturnValue>`+jobRef())
	for _, args := range [][]string{
		{"migrate", "web-01", "host-b", "--wait"},
		{"watch", fakeJobID},
		{"-o", "json", "watch", fakeJobID},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		f.mu.Lock()
		f.gets = 0
		f.onGet = func(n int) {
			if n == 2 {
				cancel() // the user's Ctrl-C, while the job runs
			}
		}
		f.mu.Unlock()
		out, errOut, code := runCtl(ctx, against(f), args...)
		cancel()
		for _, want := range []string{"job " + fakeJobID + " goes on", "vsmigctl watch " + fakeJobID, "vsmigctl cancel " + fakeJobID} {
			if !strings.Contains(errOut, want) {
				t.Errorf("vsmigctl %s: stderr lacks %q:\n%s%s", strings.Join(args, " "), want, out, errOut)
			}
		}
		if code != exitInterrupted || strings.Contains(errOut, "context canceled") {
			t.Errorf("vsmigctl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitInterrupted, errOut)
		}
	}
}

// The storage flags become vsmig's setting data and DSP1081's storage
// allocation settings.
func TestStorageFlags(t *testing.T) {
	var m migrationFlags
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	m.register(fs)
	if err := fs.Parse([]string{"--storage-copy", "never", "--remove-source", "--relocate", "vda=vsmig-alt", "--relocate", "/srv/x.qcow2"}); err != nil {
		t.Fatal(err)
	}
	msd, err := m.settingData()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`CLASSNAME="VSMIG_VirtualSystemMigrationSettingData"`,
		`<PROPERTY NAME="StorageCopy" TYPE="uint16"><VALUE>2</VALUE>`, `<PROPERTY NAME="RemoveSourceStorage" TYPE="boolean"><VALUE>true</VALUE>`} {
		if !strings.Contains(msd, want) {
			t.Errorf("setting data lacks %s:\n%s", want, msd)
		}
	}
	rasd := m.resourceSettingData()
	if len(rasd) != 2 || !strings.Contains(rasd[0], `<PROPERTY NAME="AddressOnParent" TYPE="string"><VALUE>vda</VALUE>`) ||
		!strings.Contains(rasd[0], `<VALUE>vsmig-alt</VALUE>`) || strings.Contains(rasd[1], "AddressOnParent") ||
		!strings.Contains(rasd[1], `<VALUE>/srv/x.qcow2</VALUE>`) {
		t.Errorf("storage allocation settings:\n%s", strings.Join(rasd, "\n"))
	}
	if err := fs.Parse([]string{"--relocate", "vda="}); err == nil {
		t.Error("--relocate vda= accepted")
	}
}
