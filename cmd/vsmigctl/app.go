package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/vsmig/vsmig/cmd/internal/clidoc"
	"github.com/vsmig/vsmig/wsman/client"
)

// settings are the connection settings, from flags, environment and file.
type settings struct {
	Endpoint    string `json:"endpoint"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Fingerprint string `json:"fingerprint"`
	CAFile      string `json:"ca_file"`
	Insecure    bool   `json:"insecure"`
	Namespace   string `json:"namespace"`
}

// app is what every command needs: a client, a printer and the output streams.
type app struct {
	client  *client.Client
	out     printer
	json    bool
	stdout  io.Writer
	stderr  io.Writer
	tty     bool
	ns      string
	cfgPath string
	// poll follows jobs by polling, not by subscription (--poll).
	poll bool
	// settings are the connection's, for a command that must reach
	// another host of the cluster (drain).
	settings settings
}

func configPath(getenv func(string) string) string {
	if p := getenv("VSMIG_CONFIG"); p != "" {
		return p
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "vsmig", "vsmigctl.json")
}

// parseGlobal reads the connection settings in their layers (config file,
// environment, flags) and returns them with the output format, the config
// file's path and the arguments after the flags.
func parseGlobal(args []string, getenv func(string) string) (s settings, output, path string, rest []string, err error) {
	path = configPath(getenv)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&s); err != nil {
				return s, "", path, nil, usageErrorf("config file %s: %v", path, err)
			}
		case !errors.Is(err, os.ErrNotExist):
			return s, "", path, nil, usageErrorf("config file: %v", err)
		}
	}
	env := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	env("VSMIG_ENDPOINT", &s.Endpoint)
	env("VSMIG_USER", &s.User)
	env("VSMIG_PASSWORD", &s.Password)
	env("VSMIG_FINGERPRINT", &s.Fingerprint)
	env("VSMIG_CA_FILE", &s.CAFile)
	if getenv("VSMIG_INSECURE") == "1" {
		s.Insecure = true
	}

	fs := flag.NewFlagSet("vsmigctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := globalFlags(fs, &s)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return s, "", path, nil, err
		}
		return s, "", path, nil, usageErrorf("%v", err)
	}
	return s, out.Value, path, fs.Args(), nil
}

// globalFlags registers the connection flags on fs, with s's values as
// their defaults, and returns the output format flag.
func globalFlags(fs *flag.FlagSet, s *settings) *clidoc.Choice {
	fs.StringVar(&s.Endpoint, "endpoint", s.Endpoint, "WS-Management endpoint `URL`; a bare host:port gets https:// and /wsman (VSMIG_ENDPOINT; default https://localhost:5986/wsman)")
	clidoc.Alias(fs, "e", "endpoint")
	fs.StringVar(&s.User, "user", s.User, "user `NAME` (VSMIG_USER); the password comes from VSMIG_PASSWORD or the config file, never from a flag")
	clidoc.Alias(fs, "u", "user")
	fs.StringVar(&s.Fingerprint, "fingerprint", s.Fingerprint, "accept the server certificate whose SHA-256 fingerprint is `SHA256`, as 'vsmigd fingerprint' prints it (VSMIG_FINGERPRINT)")
	fs.StringVar(&s.CAFile, "ca-file", s.CAFile, "trust the CAs in `FILE` (PEM) besides the system's (VSMIG_CA_FILE)")
	fs.BoolVar(&s.Insecure, "insecure", s.Insecure, "skip certificate verification, for tests only (VSMIG_INSECURE=1)")
	fs.StringVar(&s.Namespace, "namespace", s.Namespace, "CIM `NAMESPACE` of the profile (default root/virtualization)")
	return clidoc.NewChoice(fs, "o", "table", "output `FORMAT`: table for people, json for scripts", "table", "json")
}

// connect makes a's client and printer from the settings.
func (a *app) connect(s settings, output string) error {
	if s.Endpoint == "" {
		s.Endpoint = "https://localhost:5986/wsman"
	}
	if !strings.Contains(s.Endpoint, "://") {
		s.Endpoint = "https://" + s.Endpoint
	}
	if u := strings.TrimPrefix(strings.TrimPrefix(s.Endpoint, "https://"), "http://"); !strings.Contains(u, "/") {
		s.Endpoint += "/wsman"
	}
	if s.Namespace == "" {
		s.Namespace = "root/virtualization"
	}
	c, err := client.New(client.Config{
		Endpoint: s.Endpoint, User: s.User, Password: s.Password,
		Fingerprint: s.Fingerprint, CAFile: s.CAFile, Insecure: s.Insecure,
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	a.client, a.ns, a.settings = c, s.Namespace, s
	a.json = output == "json"
	a.tty = isTerminal(a.stdout)
	if a.json {
		a.out = jsonPrinter{w: a.stdout}
	} else {
		a.out = tablePrinter{w: a.stdout}
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func isUnreachable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}

// parseArgs parses a command's flags, which may stand before, between or
// after its positional arguments, and checks their number. It returns
// flag.ErrHelp itself for -h, -help and --help.
func parseArgs(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErrorf("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	switch {
	case len(pos) < minArgs || len(pos) > maxArgs && minArgs == maxArgs:
		return nil, usageErrorf("%s: want %d argument(s), got %d", fs.Name(), minArgs, len(pos))
	case len(pos) > maxArgs:
		return nil, usageErrorf("%s: want at most %d argument(s), got %d", fs.Name(), maxArgs, len(pos))
	}
	return pos, nil
}
