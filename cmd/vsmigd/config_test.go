package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vsmigd.json")
	os.WriteFile(file, []byte(`{"state_dir": "/srv/a", "max_outgoing": 3, "auto_converge": false, "progress_timeout": "90s"}`), 0o600)
	cfg, err := loadConfig([]string{"-config", file, "-max-outgoing", "4"},
		env(map[string]string{"VSMIGD_STATE_DIR": "/srv/b", "VSMIGD_MAX_OUTGOING": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	// flags beat environment beats file beats defaults
	if cfg.MaxOutgoing != 4 {
		t.Errorf("MaxOutgoing = %d, want 4 (flag)", cfg.MaxOutgoing)
	}
	if cfg.StateDir != "/srv/b" {
		t.Errorf("StateDir = %q, want /srv/b (env)", cfg.StateDir)
	}
	if cfg.AutoConverge || cfg.ProgressTimeout != 90*time.Second {
		t.Errorf("file values not applied: %+v", cfg)
	}
	if cfg.UsersFile != "/srv/b/users" {
		t.Errorf("UsersFile = %q, want the state directory's users", cfg.UsersFile)
	}
	if cfg.HTTPSAddr != defaultHTTPSAddr {
		t.Errorf("HTTPSAddr = %q, want the default", cfg.HTTPSAddr)
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown file key", []string{"-config", write("a.json", `{"state_dri": "/x"}`)}, nil, `unknown key "state_dri"`},
		{"bad file value", []string{"-config", write("b.json", `{"max_outgoing": "many"}`)}, nil, `key "max_outgoing"`},
		{"negative number", []string{"-config", write("c.json", `{"max_incoming": -1}`)}, nil, `key "max_incoming"`},
		{"bad duration", []string{"-config", write("d.json", `{"max_downtime": "soon"}`)}, nil, `key "max_downtime"`},
		{"not an object", []string{"-config", write("e.json", `[1,2]`)}, nil, "not a JSON object"},
		{"nested value", []string{"-config", write("f.json", `{"driver": {"name": "sim"}}`)}, nil, `key "driver"`},
		{"bad push target", []string{"-push-targets", "10.0.0.0/8,http://collector"}, nil, `key "push_targets"`},
		{"missing file", []string{"-config", filepath.Join(dir, "nope.json")}, nil, "no such file"},
		{"bad driver", []string{"-driver", "xen"}, nil, `config key "driver"`},
		{"bad transport", nil, map[string]string{"VSMIGD_DEFAULT_TRANSPORT": "udp"}, `config key "default_transport"`},
		{"bad env bool", nil, map[string]string{"VSMIGD_AUTO_CONVERGE": "maybe"}, "VSMIGD_AUTO_CONVERGE"},
		{"bad flag", []string{"-max-connections", "x"}, nil, "-max-connections"},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"no listener", []string{"-https-addr", "", "-http-addr", ""}, nil, `config key "https_addr"`},
		{"cert without key", []string{"-cert-file", "/c.pem"}, nil, `config key "cert_file"`},
		{"tiny envelope", []string{"-max-envelope-size", "100"}, nil, `config key "max_envelope_size"`},
		{"log level", []string{"-log-level", "loud"}, nil, `config key "log_level"`},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(tt.args, env(tt.env))
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestSampleConfigIsValid(t *testing.T) {
	_, err := loadConfig([]string{"-config", "../../docker/vsmigd.sample.json"}, env(nil))
	if err != nil {
		t.Fatalf("docker/vsmigd.sample.json: %v", err)
	}
}
