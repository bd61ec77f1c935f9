package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vsmig/vsmig/wsman"
)

// Config is the daemon's configuration. It is filled in layers: defaults,
// then the config file (JSON), then VSMIGD_* environment variables, then
// command-line flags. Every key has the same name in all three places
// (flag "-https-addr", env VSMIGD_HTTPS_ADDR, file "https_addr").
type Config struct {
	StateDir string

	HTTPSAddr        string
	HTTPAddr         string
	AllowUnencrypted bool
	CertFile         string
	KeyFile          string
	ClientCAFile     string
	UsersFile        string
	CertUsersFile    string
	MaxConnections   int
	MaxConnsPerAddr  int
	MaxEnvelopeSize  int
	// PushTargets lists the networks and hosts push-style event
	// subscriptions may deliver to (wsman.ParsePushTargets); empty: Pull
	// subscriptions only.
	PushTargets string

	MetricsAddr string

	Driver     string // auto, libvirt or sim
	LibvirtURI string
	HostName   string

	MaxOutgoing             int
	MaxIncoming             int
	MaxDowntime             time.Duration
	CompletionTimeoutPerGiB time.Duration
	ProgressTimeout         time.Duration
	AutoConverge            bool
	AllowPostCopy           bool
	RemoveSourceStorage     bool
	DefaultTransport        string // tcp, tls, tls-strict, ssh

	LogFormat string // text or json
	LogLevel  string // debug, info, warn, error

	// The cluster (migrate/fleet): empty ClusterEndpoints is a host on
	// its own, exactly as without these settings.
	ClusterEndpoints  string // etcd client URLs, comma separated
	ClusterCertFile   string
	ClusterKeyFile    string
	ClusterCAFile     string
	ClusterPrefix     string
	ClusterLeaseTTL   time.Duration
	ClusterMaxRunning int
	AdvertiseURL      string
	// SimURL is a shared simulated cluster (testdata/simhv) for the sim
	// driver; empty is the built-in demo cluster.
	SimURL string
}

// Defaults for the settings whose zero value is not the default.
const (
	defaultStateDir       = "/var/lib/vsmig"
	defaultHTTPSAddr      = ":5986"
	defaultMetricsAddr    = "127.0.0.1:9586"
	defaultDriver         = "auto"
	defaultLibvirtURI     = "qemu:///system"
	defaultMaxConnections = 512
	// defaultMaxConnsPerAddr is server.DefaultMaxConnsPerAddr.
	defaultMaxConnsPerAddr = 128
	// defaultMaxEnvelopeSize is Windows' MaxEnvelopeSizekb default (500 KiB).
	defaultMaxEnvelopeSize = 500 * 1024
	defaultTransport       = "tcp"
)

func defaultConfig() Config {
	return Config{
		StateDir:         defaultStateDir,
		HTTPSAddr:        defaultHTTPSAddr,
		MetricsAddr:      defaultMetricsAddr,
		Driver:           defaultDriver,
		LibvirtURI:       defaultLibvirtURI,
		MaxConnections:   defaultMaxConnections,
		MaxConnsPerAddr:  defaultMaxConnsPerAddr,
		MaxEnvelopeSize:  defaultMaxEnvelopeSize,
		DefaultTransport: defaultTransport,
		AutoConverge:     true,
		LogFormat:        "text",
		LogLevel:         "info",
	}
}

// setting is one configuration key bound to a field of Config.
type setting struct {
	key     string // file key, snake_case
	help    string
	set     func(string) error
	get     func() string
	boolean bool   // a flag that needs no value: -allow-unencrypted
	arg     string // the value's name in the help: ADDR, FILE, N, DURATION
}

func (c *Config) settings() []setting {
	str := func(key, help string, p *string) setting {
		return setting{key: key, help: help, arg: stringArg(key), set: func(s string) error { *p = s; return nil }, get: func() string { return *p }}
	}
	integer := func(key, help string, p *int) setting {
		return setting{key: key, help: help, arg: "N", set: func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return fmt.Errorf("want a non-negative integer, got %q", s)
			}
			*p = n
			return nil
		}, get: func() string { return strconv.Itoa(*p) }}
	}
	boolean := func(key, help string, p *bool) setting {
		return setting{key: key, help: help, boolean: true, set: func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("want true or false, got %q", s)
			}
			*p = b
			return nil
		}, get: func() string { return strconv.FormatBool(*p) }}
	}
	duration := func(key, help string, p *time.Duration) setting {
		return setting{key: key, help: help, arg: "DURATION", set: func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 150s or 300ms, got %q", s)
			}
			*p = d
			return nil
		}, get: func() string { return p.String() }}
	}
	return []setting{
		str("state_dir", "directory for the job store, generated certificate and users file", &c.StateDir),
		str("https_addr", "HTTPS listen address for WS-Management (empty disables)", &c.HTTPSAddr),
		str("http_addr", "plain-HTTP listen address (empty disables; usually :5985)", &c.HTTPAddr),
		boolean("allow_unencrypted", "accept Basic credentials over plain HTTP (as WinRM's AllowUnencrypted)", &c.AllowUnencrypted),
		str("cert_file", "TLS certificate (PEM); a self-signed one is generated in state_dir when empty", &c.CertFile),
		str("key_file", "TLS private key (PEM)", &c.KeyFile),
		str("client_ca_file", "CA bundle that signs accepted TLS client certificates", &c.ClientCAFile),
		str("users_file", "users file of name:bcrypt-hash lines (default state_dir/users)", &c.UsersFile),
		str("cert_users_file", "map of client-certificate SHA-256 fingerprints to users", &c.CertUsersFile),
		integer("max_connections", "cap on concurrent client connections", &c.MaxConnections),
		integer("max_connections_per_address", "cap on the connections of one client address (an IPv6 /64 counts as one)", &c.MaxConnsPerAddr),
		integer("max_envelope_size", "largest request body accepted, in bytes (413 beyond)", &c.MaxEnvelopeSize),
		str("push_targets", "networks (CIDR), addresses and host names (*.domain) WS-Eventing push subscriptions may deliver to, comma-separated (empty: Pull subscriptions only)", &c.PushTargets),
		str("metrics_addr", "plain-HTTP address for /metrics, /healthz and /readyz (empty disables)", &c.MetricsAddr),
		str("driver", "hypervisor driver: auto (libvirt if reachable, else the simulated demo), libvirt or sim", &c.Driver),
		str("libvirt_uri", "libvirt URI of the local host, e.g. qemu:///system or qemu+tcp://127.0.0.2/system", &c.LibvirtURI),
		str("host_name", "the name or address other hosts use to reach this host (default: the OS host name)", &c.HostName),
		integer("max_outgoing", "concurrent outgoing migrations (0: engine default)", &c.MaxOutgoing),
		integer("max_incoming", "concurrent incoming migrations (0: engine default)", &c.MaxIncoming),
		duration("max_downtime", "initial downtime limit of a live migration (0: engine default)", &c.MaxDowntime),
		duration("completion_timeout_per_gib", "completion timeout per GiB of guest memory (0: engine default)", &c.CompletionTimeoutPerGiB),
		duration("progress_timeout", "abort when remaining data sets no new low for this long (0: engine default)", &c.ProgressTimeout),
		boolean("auto_converge", "allow CPU throttling when the dirty rate keeps up with the bandwidth", &c.AutoConverge),
		boolean("allow_post_copy", "allow switching to post-copy when pre-copy cannot converge", &c.AllowPostCopy),
		boolean("remove_source_storage", "remove the source's copy of each copied disk once its migration has completed (by default it stays)", &c.RemoveSourceStorage),
		str("default_transport", "transport when a request names none: tcp, tls, tls-strict or ssh", &c.DefaultTransport),
		str("log_format", "log format: text or json", &c.LogFormat),
		str("log_level", "log level: debug, info, warn or error", &c.LogLevel),
		str("cluster_endpoints", "etcd client URLs, comma separated: join the cluster of hosts they hold (empty: a host on its own)", &c.ClusterEndpoints),
		str("cluster_cert_file", "TLS client certificate (PEM) for etcd's client-cert-auth", &c.ClusterCertFile),
		str("cluster_key_file", "key of cluster_cert_file (PEM)", &c.ClusterKeyFile),
		str("cluster_ca_file", "CA bundle (PEM) that signs the etcd servers' certificates", &c.ClusterCAFile),
		str("cluster_prefix", "etcd key prefix of the cluster (default /vsmig/)", &c.ClusterPrefix),
		duration("cluster_lease_ttl", "how long a host that stops answering stays in the cluster (0: 10s)", &c.ClusterLeaseTTL),
		integer("cluster_max_running", "the cluster's limit of running migrations, the same on every host (0: 5)", &c.ClusterMaxRunning),
		str("advertise_url", "the WS-Management URL this host registers in the cluster (default https://HOST_NAME:PORT/wsman)", &c.AdvertiseURL),
		str("sim_url", "driver=sim: URL of a shared simulated cluster (testdata/simhv) whose host host_name this is", &c.SimURL),
	}
}

// loadConfig builds the configuration from defaults, the file named by
// -config (or VSMIGD_CONFIG), the environment and args. It returns
// flag.ErrHelp itself for -h, -help and --help.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	cfg := defaultConfig()
	settings := cfg.settings()

	fs := flag.NewFlagSet("vsmigd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile, flagValues := settingFlags(fs, settings, getenv("VSMIGD_CONFIG"))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w ('vsmigd help' lists the settings)", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q ('vsmigd help' lists the commands and settings)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if *configFile != "" {
		if err := applyFile(settings, *configFile); err != nil {
			return cfg, err
		}
	}
	for _, s := range settings {
		if v := getenv(envName(s.key)); v != "" {
			if err := s.set(v); err != nil {
				return cfg, fmt.Errorf("environment %s: %w", envName(s.key), err)
			}
		}
	}
	for _, s := range settings {
		if set[flagName(s.key)] {
			if err := s.set(flagValues[s.key].text); err != nil {
				return cfg, fmt.Errorf("flag -%s: %w", flagName(s.key), err)
			}
		}
	}
	if cfg.UsersFile == "" {
		cfg.UsersFile = filepath.Join(cfg.StateDir, "users")
	}
	return cfg, cfg.validate()
}

// settingFlags registers -config and a flag per setting on fs; a boolean
// setting's flag needs no value. The flags keep their text, which
// loadConfig applies after the file and the environment.
func settingFlags(fs *flag.FlagSet, settings []setting, configDefault string) (*string, map[string]*settingFlag) {
	configFile := fs.String("config", configDefault, "configuration `FILE` (JSON) (VSMIGD_CONFIG)")
	values := map[string]*settingFlag{}
	for _, s := range settings {
		def := s.get() // shown in the help; 0 means the engine's default, said by the help text
		if def == "0" || def == "0s" {
			def = ""
		}
		v := &settingFlag{text: def, boolean: s.boolean, arg: s.arg}
		fs.Var(v, flagName(s.key), s.help)
		values[s.key] = v
	}
	return configFile, values
}

// settingFlag is the command-line form of a setting. Its text starts as
// the default (which the help shows) and is replaced by Set.
type settingFlag struct {
	text    string
	boolean bool
	arg     string
}

// Placeholder names the value in the help.
func (f *settingFlag) Placeholder() string { return f.arg }

// stringArg names a string setting's value after its key: https_addr ADDR,
// cert_file FILE, driver DRIVER.
func stringArg(key string) string {
	last := key[strings.LastIndex(key, "_")+1:]
	if last == "addr" {
		return "ADDR"
	}
	return strings.ToUpper(last)
}

func (f *settingFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *settingFlag) Set(s string) error {
	if f.boolean {
		if _, err := strconv.ParseBool(s); err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
	}
	f.text = s
	return nil
}

// IsBoolFlag lets -allow-unencrypted stand alone, as -allow-unencrypted=true.
func (f *settingFlag) IsBoolFlag() bool { return f.boolean }

// applyFile reads a JSON object of settings; unknown keys are errors so a
// typo is never silently ignored.
func applyFile(settings []setting, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("config %s: not a JSON object: %w", path, err)
	}
	byKey := map[string]setting{}
	for _, s := range settings {
		byKey[s.key] = s
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := byKey[k]
		if !ok {
			return fmt.Errorf("config %s: unknown key %q", path, k)
		}
		var v any
		if err := json.Unmarshal(raw[k], &v); err != nil {
			return fmt.Errorf("config %s: key %q: %w", path, k, err)
		}
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case bool:
			text = strconv.FormatBool(v)
		case float64:
			text = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return fmt.Errorf("config %s: key %q: want a string, number or boolean", path, k)
		}
		if err := s.set(text); err != nil {
			return fmt.Errorf("config %s: key %q: %w", path, k, err)
		}
	}
	return nil
}

func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config key %q: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Driver {
	case "auto", "libvirt", "sim":
	default:
		bad("driver", "want auto, libvirt or sim, got %q", c.Driver)
	}
	switch c.DefaultTransport {
	case "tcp", "tls", "tls-strict", "ssh":
	default:
		bad("default_transport", "want tcp, tls, tls-strict or ssh, got %q", c.DefaultTransport)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format", "want text or json, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.HTTPSAddr == "" && c.HTTPAddr == "" {
		bad("https_addr", "no listener: set https_addr or http_addr")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cert_file", "cert_file and key_file go together")
	}
	if c.StateDir == "" {
		bad("state_dir", "must not be empty")
	}
	if _, err := wsman.ParsePushTargets(c.PushTargets); err != nil {
		bad("push_targets", "%v", err)
	}
	if (c.ClusterCertFile == "") != (c.ClusterKeyFile == "") {
		bad("cluster_cert_file", "cluster_cert_file and cluster_key_file go together")
	}
	if c.ClusterEndpoints != "" && c.ClusterLeaseTTL != 0 && c.ClusterLeaseTTL < 2*time.Second {
		bad("cluster_lease_ttl", "at least 2s, got %v", c.ClusterLeaseTTL)
	}
	if c.SimURL != "" && (c.Driver != "sim" || c.HostName == "") {
		bad("sim_url", "needs driver sim and a host_name")
	}
	if c.MaxEnvelopeSize != 0 && c.MaxEnvelopeSize < 8192 {
		bad("max_envelope_size", "at least 8192 bytes (DSP0226 R6.2-4), got %d", c.MaxEnvelopeSize)
	}
	return errors.Join(errs...)
}

func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }
func envName(key string) string  { return "VSMIGD_" + strings.ToUpper(key) }
