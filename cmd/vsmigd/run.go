package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/server"
)

// shutdownTimeout bounds each shutdown step (HTTP drain, engine stop).
const shutdownTimeout = 20 * time.Second

// run wires the daemon together and serves until ctx ends:
//
//  1. choose the driver (libvirt, or the simulated demo) and log which;
//  2. load the class registry, open the job store;
//  3. start the engine and the DSP1081 providers, reconcile interrupted jobs;
//  4. serve WS-Management (HTTPS, optional HTTP) and the metrics listener.
//
// On ctx's end it stops accepting requests (graceful HTTP shutdown), then
// shuts the engine down (migrations in flight keep running in the
// hypervisor and are re-attached at the next start), then closes the store
// and the driver.
func run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if err := checkStateDir(cfg.StateDir, logger); err != nil {
		return err
	}

	drv, host, err := openDriver(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer drv.Close()

	st, err := newStack(ctx, cfg, drv, host, engineConfig(cfg, logger), logger)
	if err != nil {
		return err
	}
	defer st.Close()
	m, eng := st.metrics, st.eng

	var ready atomic.Bool
	if cfg.MetricsAddr != "" {
		stop, err := serveMetrics(cfg.MetricsAddr, m, readiness(&ready, st), logger)
		if err != nil {
			return err
		}
		defer stop()
	}

	srvCfg := server.Config{
		HTTPSAddr:       cfg.HTTPSAddr,
		HTTPAddr:        cfg.HTTPAddr,
		CertFile:        cfg.CertFile,
		KeyFile:         cfg.KeyFile,
		StateDir:        cfg.StateDir,
		ClientCAFile:    cfg.ClientCAFile,
		MaxConns:        cfg.MaxConnections,
		MaxConnsPerAddr: cfg.MaxConnsPerAddr,
		Logger:          logger,
	}
	if cfg.HTTPSAddr == "" {
		srvCfg.HTTPSAddr = "-"
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		srvCfg.ExtraNames = append(srvCfg.ExtraNames, h)
	} else {
		srvCfg.ExtraNames = append(srvCfg.ExtraNames, host)
	}
	serveErr := server.Run(ctx, srvCfg, countPlainRefusals(st.handler, m), func(a server.Addrs) {
		// server.Run logs the addresses and the certificate's fingerprint.
		if a.CertCreated {
			fmt.Fprintf(stdout, "vsmigd: generated a self-signed certificate in %s\nvsmigd: SHA-256 fingerprint %s\n", cfg.StateDir, a.CertFingerprint)
		}
		ready.Store(true)
	})
	ready.Store(false)

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil {
		logger.Error("engine shutdown", "err", err)
	}
	logger.Info("stopped")
	return serveErr
}

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("config key \"log_level\": %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestHandler{h}), nil
}

// newAuthenticator accepts Basic credentials from the users file and, when
// configured, TLS client certificates mapped to users.
func newAuthenticator(cfg Config, logger *slog.Logger, m *metrics) (auth.Authenticator, error) {
	basic, err := auth.NewBasicFile(auth.BasicFileConfig{Path: cfg.UsersFile, Logger: logger})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w; create it with: vsmigd user add NAME -users-file %s", err, cfg.UsersFile)
	}
	if err != nil {
		return nil, err // names the users file already
	}
	var a auth.Authenticator = basic
	if cfg.CertUsersFile != "" {
		cm, err := auth.LoadCertMap(cfg.CertUsersFile)
		if err != nil {
			return nil, fmt.Errorf("config key \"cert_users_file\": %w", err)
		}
		a = auth.Chain(auth.NewClientCert(cm), basic)
	}
	return auth.AuthenticatorFunc(func(r *http.Request) (string, error) {
		user, err := a.Authenticate(r)
		switch {
		case err == nil, errors.Is(err, auth.ErrNoCredentials):
		case errors.Is(err, auth.ErrThrottled):
			m.authThrottled.Inc()
		default:
			m.authFailures.Inc()
		}
		return user, err
	}), nil
}

// countPlainRefusals counts in m the requests over plain HTTP that h
// refuses with 403 (it does so for every authenticated request there when
// allow_unencrypted is off). HTTPS requests pass straight through.
func countPlainRefusals(h http.Handler, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusForbidden {
			m.plainRefused.Inc()
		}
	})
}

// statusWriter remembers the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// readyProbeTimeout bounds each readiness probe of the store and driver.
const readyProbeTimeout = 2 * time.Second

// readiness reports the daemon ready when it serves WS-Man, its job store
// answers and its hypervisor driver is reachable.
func readiness(serving *atomic.Bool, st *stack) func(context.Context) error {
	return func(ctx context.Context) error {
		if !serving.Load() {
			return errors.New("not serving WS-Management yet")
		}
		ctx, cancel := context.WithTimeout(ctx, readyProbeTimeout)
		defer cancel()
		if _, err := st.store.Get(ctx, "readiness-probe"); err != nil && !errors.Is(err, migrate.ErrNoJob) {
			return fmt.Errorf("job store: %w", err)
		}
		if _, err := st.eng.Host(ctx); err != nil {
			return fmt.Errorf("driver: %w", err)
		}
		return nil
	}
}

// serveMetrics serves /metrics, /healthz and /readyz on their own plain
// HTTP listener, kept apart from the authenticated WS-Man endpoint.
func serveMetrics(addr string, m *metrics, ready func(context.Context) error, logger *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("config key \"metrics_addr\": %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// securityProfiles lists the DSP0226 security profiles this configuration
// accepts, for Identify.
func securityProfiles(cfg Config) []string {
	const base = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
	var p []string
	if cfg.HTTPSAddr != "" {
		p = append(p, base+"https/basic")
		if cfg.CertUsersFile != "" {
			p = append(p, base+"https/mutual")
		}
	}
	if cfg.HTTPAddr != "" && cfg.AllowUnencrypted {
		p = append(p, base+"http/basic")
	}
	return p
}

// errUnsafeStateDir refuses a state directory others may write to.
var errUnsafeStateDir = errors.New("unsafe state directory")

// checkStateDir looks at the state directory's permissions: it holds the
// job store, the users file and the TLS key. One that group or others may
// write to is refused (anyone could replace the users file or the key,
// or the job store); one they may read or enter is used, with a warning,
// since the files vsmigd makes in it are private (0600) anyway. vsmigd
// creates it 0700.
func checkStateDir(dir string, logger *slog.Logger) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	mode := info.Mode().Perm()
	shown := uint32(mode)
	if info.Mode()&os.ModeSticky != 0 {
		shown |= 0o1000
	}
	switch {
	case mode&0o022 != 0:
		return fmt.Errorf("%w: %s has mode %04o: group or others may write to it and could replace the users file, the TLS key or the job store; make it private (chmod 700 %s)",
			errUnsafeStateDir, dir, shown, dir)
	case mode&0o077 != 0:
		logger.Warn("the state directory may be read by group or others; make it private (chmod 700 "+dir+")",
			"state_dir", dir, "mode", fmt.Sprintf("%04o", mode))
	}
	return nil
}

// exitCode is vsmigd's exit code for an error of run: 2 for what the
// operator must fix before starting again (a damaged job store, an unsafe
// state directory), 1 for anything else.
func exitCode(err error) int {
	if errors.Is(err, boltstore.ErrDamaged) || errors.Is(err, errUnsafeStateDir) {
		return exitUsage
	}
	return exitFailure
}
