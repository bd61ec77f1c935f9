package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUsers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"empty", "", map[string]string{}, ""},
		{"comments and blanks", "# users\n\n  # indented\nalice:$2a$x\n", map[string]string{"alice": "$2a$x"}, ""},
		{"later wins", "a:$2a$1\na:$2a$2\n", map[string]string{"a": "$2a$2"}, ""},
		{"crlf", "a:$2a$1\r\nb:$2a$2\r\n", map[string]string{"a": "$2a$1", "b": "$2a$2"}, ""},
		{"hash with colons", "a:$argon2id$v=19$m=1:x\n", map[string]string{"a": "$argon2id$v=19$m=1:x"}, ""},
		{"no colon", "alice\n", nil, "users:1"},
		{"empty hash", "x\nalice:\n", nil, "users:1"},
		{"empty name", "# c\n:$2a$\n", nil, "users:2"},
		{"space in name", "al ice:$2a$\n", nil, "users:1"},
		{"space in hash", "alice:$2a$ x\n", nil, "users:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUsers([]byte(tt.in), "users")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want mention of %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestAddRemoveUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	h1, h2 := testBcrypt(t, "one", "$2a$"), testBcrypt(t, "two", "$2a$")
	if err := AddUser(path, "alice", h1); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", info.Mode().Perm())
	}
	// Hand-edited comments survive; a second user is appended; re-adding replaces in place.
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append([]byte("# managed by vsmigd\n"), data...), 0o600)
	if err := AddUser(path, "bob", h1); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(path, "alice", h2); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	want := "# managed by vsmigd\nalice:" + h2 + "\nbob:" + h1 + "\n"
	if string(data) != want {
		t.Errorf("file =\n%s\nwant\n%s", data, want)
	}
	if err := RemoveUser(path, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveUser(path, "alice"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("second RemoveUser err = %v, want ErrNoSuchUser", err)
	}
	data, _ = os.ReadFile(path)
	if want := "# managed by vsmigd\nbob:" + h1 + "\n"; string(data) != want {
		t.Errorf("after remove =\n%s\nwant\n%s", data, want)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestAddUserRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	for _, tc := range []struct{ name, hash string }{
		{"", testBcrypt(t, "x", "$2a$")},
		{"a:b", testBcrypt(t, "x", "$2a$")},
		{"a b", testBcrypt(t, "x", "$2a$")},
		{"a\nb", testBcrypt(t, "x", "$2a$")},
		{"alice", "plaintext"},
		{"alice", ""},
		{"alice", "$2a$04$x y"},
	} {
		if err := AddUser(path, tc.name, tc.hash); err == nil {
			t.Errorf("AddUser(%q, %q) succeeded", tc.name, tc.hash)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("rejected AddUser created the file")
	}
}

func FuzzParseUsers(f *testing.F) {
	f.Add([]byte("# c\nalice:$2a$10$abc\n\nbob:$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n"))
	f.Add([]byte(":\n:x\nx:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := parseUsers(data, "fuzz")
		if err != nil {
			return
		}
		for name, hash := range users {
			if ValidUserName(name) != nil || hash == "" {
				t.Fatalf("accepted invalid entry %q:%q", name, hash)
			}
		}
	})
}
