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
	const usageLine = "usage: vsmigd user add|remove NAME [-users-file FILE] ('vsmigd help' says more)"
	if len(args) > 0 && isHelpFlag(args[0]) {
		program().WriteCommandHelp(stdout, "user add")
		fmt.Fprintln(stdout)
		program().WriteCommandHelp(stdout, "user remove")
		return exitOK
	}
	if len(args) < 1 || (args[0] != "add" && args[0] != "remove") {
		fmt.Fprintln(stderr, usageLine)
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("vsmigd user "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := getenv("VSMIGD_USERS_FILE")
	if def == "" {
		dir := getenv("VSMIGD_STATE_DIR")
		if dir == "" {
			dir = defaultStateDir
		}
		def = filepath.Join(dir, "users")
	}
	path := userFlags(fs, def)
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		program().WriteCommandHelp(stdout, "user "+verb)
		return exitOK
	}
	if err != nil || len(pos) != 1 {
		if err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
		}
		fmt.Fprintln(stderr, usageLine)
		return exitUsage
	}
	name := pos[0]
	if name == "" || strings.ContainsAny(name, ":\n\r") {
		fmt.Fprintf(stderr, "vsmigd: user name %q must be non-empty and contain no ':' or newline\n", name)
		return exitUsage
	}
	switch verb {
	case "add":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintln(stderr, "vsmigd: reading the password from stdin:", err)
			return exitFailure
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			fmt.Fprintln(stderr, "vsmigd: empty password on stdin")
			return exitUsage
		}
		hash, err := auth.HashPassword(pw)
		if errors.Is(err, auth.ErrPasswordTooLong) {
			fmt.Fprintf(stderr, "vsmigd: the password is %d bytes long; at most %d are allowed (bcrypt ignores the rest)\n", len(pw), auth.MaxBcryptPassword)
			return 2
		}
		if err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
			return exitFailure
		}
		if err := auth.AddUser(*path, name, hash); err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "user %s stored in %s\n", name, *path)
	case "remove":
		if err := auth.RemoveUser(*path, name); err != nil {
			fmt.Fprintln(stderr, "vsmigd:", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "user %s removed from %s\n", name, *path)
	}
	return exitOK
}

// userFlags registers the flags of the user commands.
func userFlags(fs *flag.FlagSet, def string) *string {
	return fs.String("users-file", def, "the users `FILE` (default: VSMIGD_USERS_FILE, else $VSMIGD_STATE_DIR/users, else /var/lib/vsmig/users)")
}
