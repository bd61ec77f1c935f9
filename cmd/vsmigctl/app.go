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

func newApp(args []string, stdout, stderr io.Writer, getenv func(string) string) (*app, []string, error) {
	var s settings
	path := configPath(getenv)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&s); err != nil {
				return nil, nil, usageErrorf("config file %s: %v", path, err)
			}
		case !errors.Is(err, os.ErrNotExist):
			return nil, nil, usageErrorf("config file: %v", err)
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
	fs.StringVar(&s.Endpoint, "e", s.Endpoint, "endpoint URL")
	fs.StringVar(&s.Endpoint, "endpoint", s.Endpoint, "endpoint URL")
	fs.StringVar(&s.User, "u", s.User, "user")
	fs.StringVar(&s.User, "user", s.User, "user")
	fs.StringVar(&s.Fingerprint, "fingerprint", s.Fingerprint, "pinned server certificate SHA-256 fingerprint")
	fs.StringVar(&s.CAFile, "ca-file", s.CAFile, "CA bundle")
	fs.BoolVar(&s.Insecure, "insecure", s.Insecure, "skip certificate verification")
	fs.StringVar(&s.Namespace, "namespace", s.Namespace, "CIM namespace of the profile")
	output := fs.String("o", "table", "output: table or json")
	if err := fs.Parse(args); err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
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
	if *output != "table" && *output != "json" {
		return nil, nil, usageErrorf("-o wants table or json, got %q", *output)
	}
	c, err := client.New(client.Config{
		Endpoint: s.Endpoint, User: s.User, Password: s.Password,
		Fingerprint: s.Fingerprint, CAFile: s.CAFile, Insecure: s.Insecure,
	})
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	a := &app{client: c, json: *output == "json", stdout: stdout, stderr: stderr, ns: s.Namespace, cfgPath: path}
	a.tty = isTerminal(stdout)
	if a.json {
		a.out = jsonPrinter{w: stdout}
	} else {
		a.out = tablePrinter{w: stdout}
	}
	return a, fs.Args(), nil
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
// after its positional arguments, and checks their number.
func parseArgs(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErrorf("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != positional {
		return nil, usageErrorf("%s: want %d argument(s), got %d", fs.Name(), positional, len(pos))
	}
	return pos, nil
}
