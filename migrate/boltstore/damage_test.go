package boltstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate/boltstore"
)

// openInChild is the child of TestOpenRefusesDamagedFiles: it opens the
// file named by VSMIG_TEST_OPEN and prints what Open said. A fault that
// kills it (SIGBUS on a truncated file) is its parent's finding, not a
// crash of the test binary.
func TestOpenInChild(t *testing.T) {
	path := os.Getenv("VSMIG_TEST_OPEN")
	if path == "" {
		t.Skip("the child of TestOpenRefusesDamagedFiles")
	}
	s, err := boltstore.Open(path, boltstore.DefaultConfig())
	if err == nil {
		_, err = s.List(context.Background())
		s.Close()
	}
	if err != nil {
		os.Stdout.WriteString("OPEN-ERR damaged=" + map[bool]string{true: "yes", false: "no"}[errors.Is(err, boltstore.ErrDamaged)] + " " + err.Error() + "\n")
		return
	}
	os.Stdout.WriteString("OPEN-OK\n")
}

// TestOpenRefusesDamagedFiles (issue #14): an empty jobs.db was taken for
// an empty store (the job history silently gone), a truncated one killed
// the daemon with SIGBUS, a damaged page with "panic: assertion failed".
// Open must refuse each with ErrDamaged, a message that names the file
// and says how to start afresh, and leave the file as it was.
func TestOpenRefusesDamagedFiles(t *testing.T) {
	good, err := os.ReadFile(fixtureDB) // 14 pages of 4096 bytes
	if err != nil {
		t.Fatal(err)
	}
	const ps = 4096
	damage := map[string]func() []byte{
		"empty":                  func() []byte { return nil },
		"not a database":         func() []byte { return []byte("this is not a job database\n") },
		"truncated mid-page":     func() []byte { return good[:9*ps+1000] },
		"truncated at a page":    func() []byte { return good[:10*ps] },
		"both meta pages broken": func() []byte { b := bytes.Clone(good); b[16], b[ps+16] = 0, 0; return b },
		"a leaf page scrambled": func() []byte {
			b := bytes.Clone(good)
			for i := 6*ps + 16; i < 7*ps; i++ {
				b[i] = byte(i * 7)
			}
			return b
		},
		"a branch page pointing beyond the file": func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint64(b[2*ps+16+8:], 1000) // the jobs bucket root's first child
			return b
		},
		"a page's element count garbage": func() []byte {
			b := bytes.Clone(good)
			binary.LittleEndian.PutUint16(b[6*ps+10:], 0xffff)
			return b
		},
	}
	for name, make := range damage {
		t.Run(name, func(t *testing.T) {
			data := make()
			path := filepath.Join(t.TempDir(), "jobs.db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := sha256.Sum256(data)
			cmd := exec.Command(os.Args[0], "-test.run=^TestOpenInChild$", "-test.v")
			cmd.Env = append(os.Environ(), "VSMIG_TEST_OPEN="+path)
			out, err := cmd.CombinedOutput()
			line := ""
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "OPEN-") {
					line = l
				}
			}
			switch {
			case err != nil:
				t.Fatalf("Open killed the process: %v\n%.2000s", err, out)
			case !strings.HasPrefix(line, "OPEN-ERR damaged=yes "):
				t.Fatalf("Open: %q, want ErrDamaged", line)
			case !strings.Contains(line, path) || !strings.Contains(line, "move") || !strings.Contains(line, "nothing was changed"):
				t.Errorf("message %q does not name the file and say how to start afresh", line)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(after) != before {
				t.Errorf("Open changed the damaged file (%d bytes, was %d)", len(after), len(data))
			}
		})
	}
}

// TestOpenSaysWhoHoldsTheFile (issue #14): a second vsmigd on the same
// state directory said only "jobs.db: timeout".
func TestOpenSaysWhoHoldsTheFile(t *testing.T) {
	_, path := tempStore(t, boltstore.DefaultConfig())
	cfg := boltstore.DefaultConfig()
	cfg.Timeout = 50 * time.Millisecond
	s, err := boltstore.Open(path, cfg)
	if err == nil {
		s.Close()
		t.Fatal("second Open of a locked database succeeded")
	}
	if !errors.Is(err, boltstore.ErrLocked) || !strings.Contains(err.Error(), "another vsmigd") || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open: %v; want ErrLocked naming the file and saying another vsmigd may hold it", err)
	}
}
