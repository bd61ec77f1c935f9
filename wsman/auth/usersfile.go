package auth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The users file holds one "name:hash" per line. Blank lines and lines
// whose first non-blank character is '#' are comments. A name may not
// contain ':' or white space; the hash is everything after the first ':'
// (bcrypt and argon2id PHC strings contain no white space). A later line
// for the same name replaces an earlier one.

// maxUsersFileSize bounds how much of a users file is read.
const maxUsersFileSize = 16 << 20

// parseUsers decodes users-file content into a name -> hash map. A line
// that is not "name:hash" is an error naming the line.
func parseUsers(data []byte, path string) (map[string]string, error) {
	users := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		name, hash, ok := strings.Cut(text, ":")
		if !ok || ValidUserName(name) != nil || hash == "" || strings.ContainsAny(hash, " \t") {
			return nil, fmt.Errorf("auth: %s:%d: want name:hash", path, line)
		}
		users[name] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: read %s: %w", path, err)
	}
	return users, nil
}

// ValidUserName reports whether name can be stored in a users file: not
// empty, at most 256 bytes, no ':' , white space or control characters.
func ValidUserName(name string) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("auth: user name must be 1-256 bytes")
	}
	for _, r := range name {
		if r == ':' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("auth: user name %q contains ':', white space or a control character", name)
		}
	}
	return nil
}

// AddUser sets the hash of user name in the users file at path, adding
// the user or replacing its line in place; comments and other lines are
// kept. The file is created if missing. hash is typically the result of
// HashPassword. The file is rewritten atomically (temporary file in the
// same directory, fsync, rename) with mode 0600.
func AddUser(path, name, hash string) error {
	if err := ValidUserName(name); err != nil {
		return err
	}
	if hash == "" || strings.ContainsAny(hash, " \t\r\n") {
		return fmt.Errorf("auth: hash for %q is empty or contains white space", name)
	}
	if _, err := VerifyPassword(hash, ""); errors.Is(err, ErrUnknownHash) {
		return fmt.Errorf("auth: hash for %q: %w", name, err)
	}
	return editUsers(path, func(lines []string) ([]string, error) {
		out, found := lines[:0:0], false
		for _, l := range lines {
			if lineUser(l) == name {
				if !found {
					out = append(out, name+":"+hash)
					found = true
				}
				continue
			}
			out = append(out, l)
		}
		if !found {
			out = append(out, name+":"+hash)
		}
		return out, nil
	})
}

// ErrNoSuchUser is returned by RemoveUser for a name not in the file.
var ErrNoSuchUser = errors.New("auth: no such user")

// RemoveUser deletes user name from the users file at path, atomically as
// AddUser does. It returns an error wrapping ErrNoSuchUser when the name is
// not there.
func RemoveUser(path, name string) error {
	return editUsers(path, func(lines []string) ([]string, error) {
		out, found := lines[:0:0], false
		for _, l := range lines {
			if lineUser(l) == name {
				found = true
				continue
			}
			out = append(out, l)
		}
		if !found {
			return nil, fmt.Errorf("%w: %q", ErrNoSuchUser, name)
		}
		return out, nil
	})
}

// lineUser returns the user name a users-file line defines, or "" for a
// comment or blank line.
func lineUser(l string) string {
	t := strings.TrimSpace(l)
	if t == "" || t[0] == '#' {
		return ""
	}
	name, _, _ := strings.Cut(t, ":")
	return name
}

// editUsers reads the file's lines (none if it does not exist), applies
// edit and writes the result back atomically with mode 0600.
func editUsers(path string, edit func([]string) ([]string, error)) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("auth: read users file: %w", err)
	}
	var lines []string
	if len(data) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	lines, err = edit(lines)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return writeFileAtomic(path, buf.Bytes(), 0o600)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path, so readers see the old or the new content,
// never a partial file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("auth: write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
