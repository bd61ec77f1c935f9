package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/indication"
	"github.com/vsmig/vsmig/cim/vsm"
	"github.com/vsmig/vsmig/cim/wsbind"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
	"github.com/vsmig/vsmig/migrate/fleet"
	"github.com/vsmig/vsmig/schemas"
	"github.com/vsmig/vsmig/wsman"
)

// stack is the daemon's serving stack without its listeners: the class
// registry, the engine with its job store, the DSP1081 providers behind a
// CIM broker, and the WS-Management service with its authenticated HTTP
// handler. run serves it; the benchmarks drive the same stack over a real
// listener.
type stack struct {
	handler http.Handler // the authenticated WS-Man endpoint
	svc     *wsman.Service
	eng     *migrate.Engine
	store   migrate.Store
	profile *vsm.Profile
	metrics *metrics
	// pub publishes the lifecycle indications of jobs and virtual
	// systems to WS-Eventing subscribers.
	pub   *indication.Publisher
	fleet *fleet.Fleet // nil for a host on its own

	closers []func() error // in construction order; Close runs them backwards
}

// newStack builds the stack on drv, the local host known to others as
// host. engCfg is the engine's configuration (engineConfig(cfg) in the
// daemon); newStack gives it the job store and sets its OnUpdate to feed
// the metrics, then to call the OnUpdate engCfg had, if any (a test's
// observer). The engine takes up the jobs a previous run left unfinished
// (Engine.Recover) before newStack returns.
//
// The engine is started but not stopped by Close: the caller shuts it down
// first (eng.Shutdown), so that migrations in flight stop being monitored
// before the store closes.
func newStack(ctx context.Context, cfg Config, drv migrate.Driver, host string, engCfg migrate.Config, logger *slog.Logger) (_ *stack, err error) {
	s := &stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	reg, err := schemas.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the class schemas: %w", err)
	}
	store, err := boltstore.Open(filepath.Join(cfg.StateDir, "jobs.db"), boltstore.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("opening the job store: %w", err)
	}
	s.store = store
	s.closers = append(s.closers, store.Close)

	fl, err := openFleet(cfg, host, logger)
	if err != nil {
		return nil, err
	}
	if fl != nil {
		s.fleet = fl
		engCfg.Cluster = fl
		s.closers = append(s.closers, fl.Close)
	}

	m := newMetrics()
	s.metrics = m
	// Every change of a job goes through the store; the profile sees them
	// there and reports them as indications (vsm.ObservedStore), and it
	// follows the engine's inventory for the virtual systems'.
	pub, err := indication.New(indication.Config{Registry: reg, Host: host})
	if err != nil {
		return nil, fmt.Errorf("indications: %w", err)
	}
	s.pub = pub
	jobs := vsm.ObserveStore(store)
	observe := engCfg.OnUpdate
	engCfg.Store = jobs
	engCfg.OnUpdate = func(u migrate.Update) {
		m.observeUpdate(u)
		if fl != nil {
			fl.Notify(u)
		}
		if observe != nil {
			observe(u)
		}
	}
	eng, err := migrate.New(engCfg, drv)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	s.eng = eng
	vc := vsm.Config{
		Registry: reg,
		Engine:   eng,
		HostName: host,
		OwnerOf:  cim.UserFrom,
		Logger:   logger,

		Indications: pub,
		Jobs:        jobs,
	}
	if fl != nil {
		startFleet(ctx, fl, eng, logger)
		vc.Fleet = fl
	}
	p, err := vsm.New(vc)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	s.profile = p
	s.closers = append(s.closers, p.Close)
	m.observeJobs(eng)
	m.observeEngine(eng)

	broker := cim.NewBroker(reg, logger)
	for _, prov := range p.Providers() {
		broker.Register(prov)
	}
	if err := eng.Recover(ctx); err != nil {
		logger.Error("reconciling interrupted jobs", "err", err)
	}

	pushTargets, err := wsman.ParsePushTargets(cfg.PushTargets) // validated by loadConfig
	if err != nil {
		return nil, fmt.Errorf("config key \"push_targets\": %w", err)
	}
	svc := wsman.NewService(wsman.Config{
		PushTargets:      pushTargets,
		ProductVendor:    "vsmig",
		ProductVersion:   version,
		SecurityProfiles: securityProfiles(cfg),
		Logger:           logger,
		Observe:          func(ri wsman.RequestInfo) { m.observeRequest(ri.Action, ri.FaultSubcode, ri.Duration) },
	})
	s.svc = svc
	m.gaugeFunc("vsmig_wsman_enumeration_contexts", "Open WS-Enumeration contexts.", func() float64 { return float64(svc.OpenEnumerations()) })
	m.gaugeFunc("vsmig_wsman_subscriptions", "Active WS-Eventing subscriptions.", func() float64 { return float64(svc.Subscriptions()) })
	s.closers = append(s.closers, svc.Close)
	wsbind.Register(svc, broker, reg, wsbind.Options{DefaultNamespace: vsm.Namespace, Logger: logger,
		Indications: pub, ProvidersReportChanges: true})

	authn, err := newAuthenticator(cfg, logger, m)
	if err != nil {
		return nil, err
	}
	s.handler = wsman.NewHTTPHandler(svc, wsman.HTTPConfig{
		Authenticator:    authn,
		AllowUnencrypted: cfg.AllowUnencrypted,
		MaxRequestSize:   int64(cfg.MaxEnvelopeSize),
		Logger:           logger,
	})
	return s, nil
}

// Close closes the WS-Man service, the profile and the job store, in that
// order. The engine must have been shut down.
func (s *stack) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}
