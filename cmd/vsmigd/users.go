package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vsmig/vsmig/wsman/auth"
)

// userCommand manages the users file: `vsmigd user add NAME` reads the
// password from the first line of stdin (so it never shows in a process
// list or shell history) and stores its bcrypt hash; `vsmigd user remove
// NAME` deletes the entry. The file is rewritten atomically with mode 0600.
func userCommand(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) < 2 || (args[0] != "add" && args[0] != "remove") {
		fmt.Fprintln(stderr, "usage: vsmigd user add|remove NAME [-users-file FILE]")
		return 2
	}
	verb, name := args[0], args[1]
	fs := flag.NewFlagSet("vsmigd user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := getenv("VSMIGD_USERS_FILE")
	if def == "" {
		dir := getenv("VSMIGD_STATE_DIR")
		if dir == "" {
			dir = defaultStateDir
		}
		def = filepath.Join(dir, "users")
	}
	path := fs.String("users-file", def, "users file")
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	if name == "" || strings.ContainsAny(name, ":\n\r") {
		fmt.Fprintf(stderr, "vsmigd: user name %q must be non-empty and contain no ':' or newline\n", name)
		return 2
	}
	switch verb {
	case "add":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintln(stderr, "vsmigd: reading the password from stdin:", err)
			return 1
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			fmt.Fprintln(stderr, "vsmigd: empty password on stdin")
			return 2
		}
		hash, err := auth.HashPassword(pw)
		if errors.Is(err, auth.ErrPasswordTooLong) {
			fmt.Fprintf(stderr, "vsmigd: the password is %d bytes long; at most %d are allowed (bcrypt ignores the rest)\n", len(pw), auth.MaxBcryptPassword)
			return 2
		}
		if err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
			return 1
		}
		if err := auth.AddUser(*path, name, hash); err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
			return 1
		}
		fmt.Fprintf(stdout, "user %s stored in %s\n", name, *path)
	case "remove":
		if err := auth.RemoveUser(*path, name); err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
			return 1
		}
		fmt.Fprintf(stdout, "user %s removed from %s\n", name, *path)
	}
	return 0
}
