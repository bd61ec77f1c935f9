package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveOnce runs `vsmigd serve` on the simulator with state dir for a
// moment: it starts, serves, stops and returns. The users file is kept
// outside dir, which the test owns.
func serveOnce(t *testing.T, dir string) (code int, stderr string) {
	t.Helper()
	users := filepath.Join(t.TempDir(), "users")
	noenv := func(string) string { return "" }
	if c := cli(context.Background(), []string{"user", "add", "admin", "-users-file", users}, strings.NewReader("pw\n"),
		new(bytes.Buffer), new(bytes.Buffer), noenv); c != 0 {
		t.Fatalf("user add: %d", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	code = cli(ctx, []string{"serve", "-driver", "sim", "-state-dir", dir, "-users-file", users,
		"-https-addr", "127.0.0.1:0", "-metrics-addr", ""}, strings.NewReader(""), &out, &errb, noenv)
	return code, errb.String()
}

// TestDamagedJobStore (issue #14): a damaged jobs.db (here an empty one,
// which was taken for an empty store) stops vsmigd with exit code 2 and a
// message that names the file and says how to start afresh; the file is
// left as it was.
func TestDamagedJobStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "jobs.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := serveOnce(t, dir)
	if code != 2 || !strings.Contains(stderr, db) || !strings.Contains(stderr, "mv "+db+" "+db+".damaged") {
		t.Errorf("exit %d, stderr:\n%s\nwant 2 and a message naming %s and how to move it aside", code, stderr, db)
	}
	if info, err := os.Stat(db); err != nil || info.Size() != 0 {
		t.Errorf("jobs.db after the refusal: %v, %v", info, err)
	}
}

// TestStateDirPermissions (issue #14): a state directory that already
// existed with loose permissions was used silently. One that group or
// others may write to (anyone could replace the users file or the key) is
// refused, with exit code 2; one they may read is used with a warning.
func TestStateDirPermissions(t *testing.T) {
	for _, tt := range []struct {
		mode    os.FileMode
		code    int
		warning bool
	}{
		{0o700, 0, false},
		{0o750, 0, true},
		{0o755, 0, true},
		{0o770, 2, false},
		{0o777, 2, false},
		{0o1777, 2, false},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			code, stderr := serveOnce(t, dir)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if tt.code != 0 && (!strings.Contains(stderr, dir) || !strings.Contains(stderr, "chmod 700 "+dir)) {
				t.Errorf("refusal does not name the directory and the fix:\n%s", stderr)
			}
			if warned := strings.Contains(stderr, "level=WARN") && strings.Contains(stderr, "chmod 700 "+dir); warned != tt.warning {
				t.Errorf("warning %v, want %v; stderr:\n%s", warned, tt.warning, stderr)
			}
		})
	}
}
