package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc"

	"github.com/vsmig/vsmig/migrate"
)

// Defaults of Config.
const (
	DefaultPrefix = "/vsmig/"
	// DefaultLeaseTTL is how long a host that stops answering stays in
	// the cluster: long enough to ride out an etcd leader election
	// (about 1 s with etcd's defaults) and a vsmigd restart, short
	// enough that peers stop choosing a dead host within seconds.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultOpTimeout bounds one request to etcd: a leader election
	// takes about a second, so five leave room for two; beyond that the
	// host says "cluster unavailable".
	DefaultOpTimeout = 5 * time.Second
	// DefaultMaxRunning is KubeVirt's ParallelMigrationsPerCluster, as
	// the engine's own MaxTotal default.
	DefaultMaxRunning = migrate.DefaultMaxTotal
	// DefaultRefresh is how often a host re-reads its facts (free
	// memory, health) and updates its registration if they changed.
	DefaultRefresh = 5 * time.Second
)

// Config configures a Fleet.
type Config struct {
	// Endpoints are the etcd client URLs (https:// for TLS).
	Endpoints []string
	// CertFile and KeyFile are a TLS client certificate for etcd's
	// --client-cert-auth; CAFile the CA that signed etcd's server
	// certificate. Empty: no client certificate / the system's roots.
	CertFile, KeyFile, CAFile string
	// Prefix is the key prefix of this cluster (DefaultPrefix).
	Prefix string
	// LeaseTTL is the lease of the host's registration, locks and slots.
	LeaseTTL time.Duration
	// LeaseFile keeps the lease's ID across restarts; "" keeps none.
	LeaseFile string
	// OpTimeout bounds each request.
	OpTimeout time.Duration
	// MaxRunning is the cluster's limit of running migrations; every
	// host must be given the same.
	MaxRunning int
	// Refresh is how often the registration's facts are re-read.
	Refresh time.Duration

	// Host is the local host's name as destinations name it; Endpoint
	// its WS-Management URL; Version vsmigd's.
	Host, Endpoint, Version string
	Logger                  *slog.Logger
}

func (c *Config) fill() error {
	if len(c.Endpoints) == 0 {
		return errors.New("fleet: no etcd endpoints")
	}
	if c.Host == "" {
		return errors.New("fleet: no host name")
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.LeaseTTL < 2*time.Second {
		return fmt.Errorf("fleet: lease TTL %v is under 2s", c.LeaseTTL)
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.MaxRunning == 0 {
		c.MaxRunning = DefaultMaxRunning
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// Engine is what the fleet asks of the local migration engine
// (*migrate.Engine): its host's facts, its VMs, and the jobs a drain
// submits and follows.
type Engine interface {
	Host(ctx context.Context) (migrate.Host, error)
	HostResources(ctx context.Context) (migrate.Resources, error)
	Domains(ctx context.Context) ([]migrate.Domain, error)
	Domain(ctx context.Context, uuid string) (migrate.Domain, error)
	DomainResources(ctx context.Context, uuid string) (migrate.Resources, error)
	Check(ctx context.Context, req migrate.Request) (migrate.Assessment, error)
	Submit(ctx context.Context, req migrate.Request) (*migrate.Job, error)
	Job(ctx context.Context, id string) (*migrate.Job, error)
	Cancel(ctx context.Context, id string, kill bool) error
	Config() migrate.Config
}

// Fleet is this host's membership of a cluster. It implements
// migrate.Cluster for the engine. New connects; Start (once the engine
// exists) registers the host and resumes its drains; Close leaves.
type Fleet struct {
	cfg   Config
	cli   *clientv3.Client
	log   *slog.Logger
	Count *Counter // the requests this host made to etcd

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sess    *concurrency.Session // nil while unavailable
	why     string               // why unavailable
	eng     Engine
	cache   *cache
	held    map[string]*holding // by job ID
	drains  map[string]*drainRun
	lastReg string // the registration last written
	marked  bool   // the registration last written says Draining
}

// holding is what a job of this host holds in etcd.
type holding struct {
	cj    migrate.ClusterJob
	lock  bool
	slots []string // keys
}

// New connects to etcd. The fleet is unavailable until Start.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	count := &Counter{}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.OpTimeout,
		DialKeepAliveTime:    cfg.LeaseTTL / 3,
		DialKeepAliveTimeout: cfg.OpTimeout,
		TLS:                  tlsCfg,
		Logger:               quietZap(),
		DialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(count.unary),
			grpc.WithChainStreamInterceptor(count.stream),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: etcd client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Fleet{
		cfg: cfg, cli: cli, log: cfg.Logger, Count: count,
		ctx: ctx, cancel: cancel,
		why:    "not started",
		cache:  newCache(cfg.Prefix),
		held:   make(map[string]*holding),
		drains: make(map[string]*drainRun),
	}, nil
}

// tlsConfig builds the client's TLS from the files; nil without any.
func tlsConfig(cfg Config) (*tls.Config, error) {
	tlsOn := cfg.CertFile != "" || cfg.CAFile != ""
	for _, e := range cfg.Endpoints {
		if strings.HasPrefix(e, "https://") {
			tlsOn = true
		}
	}
	if !tlsOn {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("fleet: the client certificate and its key go together")
	}
	if cfg.CertFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{c}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	return t, nil
}

// Host is the local host's name in the cluster.
func (f *Fleet) Host() string { return f.cfg.Host }

// Config returns the fleet's configuration, defaults filled in.
func (f *Fleet) Config() Config { return f.cfg }

// Start registers the host with the engine's facts, starts following the
// cluster and, once registered, resumes this host's unfinished drains.
// It returns once the first registration is written, or with an error
// when ctx ends first: the fleet goes on trying in the background (the
// host answers "cluster unavailable" meanwhile). The membership is kept,
// and taken back after a lapse, until Close.
func (f *Fleet) Start(ctx context.Context, eng Engine) error {
	f.mu.Lock()
	f.eng = eng
	f.mu.Unlock()
	ready := make(chan struct{})
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		f.follow(ready)
	}()
	registered := make(chan struct{})
	go func() {
		defer f.wg.Done()
		f.keep(ready, registered)
	}()
	for _, c := range []chan struct{}{ready, registered} {
		select {
		case <-c:
		case <-ctx.Done():
			return fmt.Errorf("fleet: start: %w (it goes on trying in the background)", ctx.Err())
		}
	}
	return nil
}

// Close stops the drains' runners (the drains stay recorded and resume
// at the next Start), revokes nothing (a restart within the lease's TTL
// takes it back; otherwise it lapses) and closes the client.
func (f *Fleet) Close() error {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	s := f.sess
	f.sess = nil
	f.mu.Unlock()
	if s != nil {
		s.Orphan() // keep the lease: it lapses, or the next start takes it
	}
	return f.cli.Close()
}

// Leave revokes the lease: the host leaves the cluster at once and what
// it held is freed. For an orderly removal of a host, not a restart.
func (f *Fleet) Leave(ctx context.Context) error {
	f.mu.Lock()
	s := f.sess
	f.mu.Unlock()
	if s == nil {
		return nil
	}
	err := s.Close()
	if f.cfg.LeaseFile != "" {
		os.Remove(f.cfg.LeaseFile)
	}
	return err
}

// Client is the etcd client, for tests and tools.
func (f *Fleet) Client() *clientv3.Client { return f.cli }

// session returns the live session, or an error wrapping
// migrate.ErrClusterUnavailable.
func (f *Fleet) session() (*concurrency.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sess == nil {
		return nil, f.unavailable(f.why)
	}
	select {
	case <-f.sess.Done():
		return nil, f.unavailable("the host's cluster lease lapsed")
	default:
	}
	return f.sess, nil
}

// unavailable is the refusal of a host that cannot reach its cluster.
func (f *Fleet) unavailable(why string) error {
	return &migrate.CheckError{Kind: migrate.InvalidState, Reason: "cluster unavailable", Err: unavailableError(why)}
}

// unavailableError says why the cluster is unavailable and is
// migrate.ErrClusterUnavailable.
type unavailableError string

func (e unavailableError) Error() string { return string(e) }
func (e unavailableError) Unwrap() error { return migrate.ErrClusterUnavailable }

// Available reports whether the host is a member now, and why not.
func (f *Fleet) Available() (bool, string) {
	if _, err := f.session(); err != nil {
		return false, strings.TrimPrefix(err.Error(), "migrate: ")
	}
	return true, ""
}

// op is a context for one request.
func (f *Fleet) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.cfg.OpTimeout)
}

// opErr turns a failed request into the refusal of an unavailable
// cluster.
func (f *Fleet) opErr(what string, err error) error {
	if errors.Is(err, migrate.ErrClusterUnavailable) {
		return err
	}
	return f.unavailable(fmt.Sprintf("%s: %v", what, err))
}

// keep holds the membership: a session (the lease of the last run if it
// is still alive), the registration, its refresh; after a lapse, a new
// session, and what this host's jobs hold is written again under it.
func (f *Fleet) keep(ready, registered chan struct{}) {
	once := sync.OnceFunc(func() {
		close(registered)
		select {
		case <-ready:
			f.resumeDrains()
		case <-f.ctx.Done():
		}
	})
	backoff := 200 * time.Millisecond
	for f.ctx.Err() == nil {
		s, err := f.newSession()
		if err != nil {
			f.setUnavailable("cannot reach etcd: " + err.Error())
			f.log.Warn("cluster unreachable", "err", err)
			if !sleep(f.ctx, backoff) {
				return
			}
			backoff = min(2*backoff, f.cfg.LeaseTTL/2)
			continue
		}
		backoff = 200 * time.Millisecond
		if err := f.register(s, true); err != nil {
			f.log.Warn("cannot register in the cluster", "err", err)
			s.Orphan()
			if !sleep(f.ctx, backoff) {
				return
			}
			continue
		}
		f.mu.Lock()
		f.sess = s
		f.why = ""
		f.mu.Unlock()
		f.rewriteHeld(s)
		f.log.Info("registered in the cluster", "host", f.cfg.Host, "lease", strconv.FormatInt(int64(s.Lease()), 16),
			"endpoints", strings.Join(f.cfg.Endpoints, ","))
		once()
		f.refresh(s)
		f.setUnavailable("the host's cluster lease lapsed")
		if f.ctx.Err() == nil {
			f.log.Warn("cluster membership lapsed; starting no new migration until it is back", "host", f.cfg.Host)
		}
	}
}

func (f *Fleet) setUnavailable(why string) {
	f.mu.Lock()
	f.sess, f.why = nil, why
	f.mu.Unlock()
}

// newSession opens a session on the lease of LeaseFile if etcd still
// holds it, else on a new lease, which it writes to LeaseFile.
func (f *Fleet) newSession() (*concurrency.Session, error) {
	ttl := int(f.cfg.LeaseTTL / time.Second)
	opts := []concurrency.SessionOption{concurrency.WithTTL(ttl), concurrency.WithContext(f.ctx)}
	if id, ok := f.savedLease(); ok {
		ctx, cancel := f.op(f.ctx)
		r, err := f.cli.TimeToLive(ctx, id)
		cancel()
		if err != nil {
			return nil, err
		}
		if r.TTL > 0 {
			f.log.Info("taking back the lease of the last run", "lease", strconv.FormatInt(int64(id), 16), "ttl_left", r.TTL)
			opts = append(opts, concurrency.WithLease(id))
		}
	}
	ctx, cancel := f.op(f.ctx)
	defer cancel()
	type result struct {
		s   *concurrency.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := concurrency.NewSession(f.cli, opts...)
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		f.saveLease(r.s.Lease())
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Orphan()
			}
		}()
		return nil, ctx.Err()
	}
}

func (f *Fleet) savedLease() (clientv3.LeaseID, bool) {
	if f.cfg.LeaseFile == "" {
		return 0, false
	}
	b, err := os.ReadFile(f.cfg.LeaseFile)
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(b)), 16, 64)
	if err != nil || id == 0 {
		return 0, false
	}
	return clientv3.LeaseID(id), true
}

func (f *Fleet) saveLease(id clientv3.LeaseID) {
	if f.cfg.LeaseFile == "" {
		return
	}
	tmp := f.cfg.LeaseFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(int64(id), 16)+"\n"), 0o600); err == nil {
		err = os.Rename(tmp, f.cfg.LeaseFile)
		if err != nil {
			f.log.Warn("cannot keep the lease ID", "file", f.cfg.LeaseFile, "err", err)
		}
	}
}

// refresh re-reads the host's facts every Refresh and writes the
// registration when they changed, until the session ends or the fleet
// closes.
func (f *Fleet) refresh(s *concurrency.Session) {
	t := time.NewTicker(f.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-s.Done():
			return
		case <-t.C:
			if err := f.register(s, false); err != nil {
				f.log.Debug("registration refresh", "err", err)
			}
		}
	}
}

// register writes the host's registration under s's lease; unless force,
// only if it changed.
func (f *Fleet) register(s *concurrency.Session, force bool) error {
	m, err := f.facts()
	if err != nil {
		m = migrate.Member{Name: f.cfg.Host, Health: "driver: " + err.Error()}
	}
	m.Endpoint, m.Version = f.cfg.Endpoint, f.cfg.Version
	m.Draining = f.draining()
	b := mustJSON(m)
	f.mu.Lock()
	same := f.lastReg == string(b)
	f.mu.Unlock()
	if same && !force {
		return nil
	}
	m.Updated = time.Now().UTC()
	ctx, cancel := f.op(f.ctx)
	defer cancel()
	if _, err := f.cli.Put(ctx, f.key("members", f.cfg.Host), string(mustJSON(m)), clientv3.WithLease(s.Lease())); err != nil {
		return err
	}
	f.mu.Lock()
	f.lastReg, f.marked = string(b), m.Draining
	f.mu.Unlock()
	return nil
}

// facts reads the registration's facts from the engine.
func (f *Fleet) facts() (migrate.Member, error) {
	f.mu.Lock()
	eng := f.eng
	f.mu.Unlock()
	ctx, cancel := f.op(f.ctx)
	defer cancel()
	h, err := eng.Host(ctx)
	if err != nil {
		return migrate.Member{}, err
	}
	cfg := eng.Config()
	m := migrate.Member{
		Name: f.cfg.Host, UUID: h.UUID, Health: "ok", Hypervisor: h.Hypervisor,
		CPUs: h.CPUs, CPUModel: h.CPUModel, MemoryKiB: h.MemoryKiB, FreeKiB: h.FreeKiB,
		MaxIncoming: cfg.MaxIncoming, MaxOutgoing: cfg.MaxOutgoing,
	}
	if r, err := eng.HostResources(ctx); err == nil {
		m.Networks, m.StoragePools = r.Networks, r.StoragePools
	}
	return m, nil
}

// key joins the prefix and parts.
func (f *Fleet) key(parts ...string) string {
	return f.cfg.Prefix + strings.Join(parts, "/")
}

// Members returns the live members, in name order.
func (f *Fleet) Members() []migrate.Member { return f.cache.members() }

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
