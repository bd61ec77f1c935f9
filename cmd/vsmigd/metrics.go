package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/wsman"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds the daemon's Prometheus collectors. They live in a registry
// of their own (not the global default) so that tests can start several
// daemons in one process.
type metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	faults       *prometheus.CounterVec
	authFailures prometheus.Counter
	// authThrottled and plainRefused count refusals that check no
	// credentials: a spent failure budget, plain HTTP.
	authThrottled prometheus.Counter
	plainRefused  prometheus.Counter

	migrations *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	downtime   *prometheus.HistogramVec
	transfer   *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsmig_wsman_requests_total",
		Help: "WS-Management requests by action and outcome (ok or fault).",
	}, []string{"action", "outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vsmig_wsman_request_duration_seconds",
		Help:    "Time to answer a WS-Management request, by action.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"action"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsmig_wsman_faults_total",
		Help: "WS-Management faults sent, by subcode (e.g. w:InvalidSelectors).",
	}, []string{"subcode"})
	m.authFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vsmig_auth_failures_total",
		Help: "Requests refused for missing or wrong credentials.",
	})
	m.authThrottled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vsmig_auth_throttled_total",
		Help: "Requests refused with 429 because their address spent its budget of failed logins (credentials not checked).",
	})
	m.plainRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vsmig_wsman_unencrypted_refusals_total",
		Help: "Requests over plain HTTP refused with 403 because allow_unencrypted is off.",
	})
	m.migrations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vsmig_migrations_total",
		Help: "Finished migrations by type (live, resume, restart) and outcome (completed, failed, cancelled, killed).",
	}, []string{"type", "outcome"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vsmig_migration_duration_seconds",
		Help:    "Total time of completed migrations.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
	}, []string{"type"})
	m.downtime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vsmig_migration_downtime_seconds",
		Help:    "Guest downtime (stop-and-copy) of completed migrations.",
		Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2, 5},
	}, []string{"type"})
	m.transfer = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vsmig_migration_transferred_bytes",
		Help:    "Data transferred by completed migrations.",
		Buckets: prometheus.ExponentialBuckets(64<<20, 2, 12),
	}, []string{"type"})
	m.reg.MustRegister(m.requests, m.latency, m.faults, m.authFailures, m.authThrottled, m.plainRefused,
		m.migrations, m.duration, m.downtime, m.transfer,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeRequest records one answered WS-Management request.
func (m *metrics) observeRequest(action, faultSubcode string, d time.Duration) {
	outcome := "ok"
	if faultSubcode != "" {
		outcome = "fault"
		m.faults.WithLabelValues(faultSubcode).Inc()
	}
	label := actionLabel(action, outcome == "ok")
	m.requests.WithLabelValues(label, outcome).Inc()
	m.latency.WithLabelValues(label).Observe(d.Seconds())
}

// standardActions names the protocol's own actions by their last segment:
// WS-Transfer, WS-Enumeration (a Pull on a subscription's context counts
// as a Pull) and WS-Eventing.
var standardActions = map[string]bool{
	wsman.ActionGet:         true,
	wsman.ActionPut:         true,
	wsman.ActionCreate:      true,
	wsman.ActionDelete:      true,
	wsman.ActionEnumerate:   true,
	wsman.ActionPull:        true,
	wsman.ActionRelease:     true,
	wsman.ActionSubscribe:   true,
	wsman.ActionRenew:       true,
	wsman.ActionGetStatus:   true,
	wsman.ActionUnsubscribe: true,
}

// actionLabel bounds the action label's values: the Action header is the
// client's to choose, so only the protocol's actions and the methods that
// were actually invoked (a fixed set, from the schema) get a label of their
// own; every other action counts as "other". Identify has no Action on
// the wire; the service reports it as wsman.ActionIdentify.
func actionLabel(action string, ok bool) string {
	if action == "" || action == wsman.ActionIdentify {
		return "Identify"
	}
	last := action[strings.LastIndexByte(action, '/')+1:]
	switch {
	case standardActions[action]:
		return last
	case ok:
		return "Invoke " + last
	}
	return "other"
}

// gaugeFunc registers a gauge whose value is read at scrape time.
func (m *metrics) gaugeFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// typeLabel names a migration type for metric labels.
func typeLabel(t migrate.Type) string {
	switch t {
	case migrate.Live:
		return "live"
	case migrate.Resume:
		return "resume"
	case migrate.Restart:
		return "restart"
	}
	return "other"
}

// observeUpdate counts finished migrations and their statistics, by the
// migration type the Update carries.
func (m *metrics) observeUpdate(u migrate.Update) {
	if !u.Status.Terminal() {
		return
	}
	typ := typeLabel(u.Type)
	var outcome string
	switch u.Status {
	case migrate.StatusCompleted:
		outcome = "completed"
	case migrate.StatusCancelled:
		outcome = "cancelled"
	case migrate.StatusKilled:
		outcome = "killed"
	default:
		outcome = "failed"
	}
	m.migrations.WithLabelValues(typ, outcome).Inc()
	if u.Status == migrate.StatusCompleted && u.Result != nil {
		m.duration.WithLabelValues(typ).Observe(u.Result.TotalTime.Seconds())
		m.downtime.WithLabelValues(typ).Observe(u.Result.Downtime.Seconds())
		m.transfer.WithLabelValues(typ).Observe(float64(u.Result.DataTransferred))
	}
}

// observeJobs exports the engine's jobs by state, read at scrape time.
// The labels are the CIM JobState names the README documents; a job
// being cancelled counts as running until it ends.
func (m *metrics) observeJobs(e *migrate.Engine) {
	states := map[string]migrate.Status{"new": migrate.StatusQueued, "starting": migrate.StatusStarting,
		"running": migrate.StatusRunning, "completed": migrate.StatusCompleted, "terminated": migrate.StatusCancelled,
		"killed": migrate.StatusKilled, "exception": migrate.StatusFailed}
	m.reg.MustRegister(&jobCollector{jobs: e, states: states, desc: prometheus.NewDesc(
		"vsmig_jobs", "Stored CIM_ConcreteJob instances by JobState.", []string{"state"}, nil)})
}

// observeEngine exports the engine's running and queued migrations.
func (m *metrics) observeEngine(e *migrate.Engine) {
	m.gaugeFunc("vsmig_migrations_running", "Migrations running now.", func() float64 { return float64(e.Running()) })
	m.gaugeFunc("vsmig_migration_queue_depth", "Migrations waiting for an admission slot.", func() float64 { return float64(e.Queued()) })
}

// jobCollector reads job counts from the engine at scrape time.
type jobCollector struct {
	jobs interface {
		Jobs(context.Context) ([]*migrate.Job, error)
	}
	states map[string]migrate.Status
	desc   *prometheus.Desc
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	jobs, err := c.jobs.Jobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	counts := map[migrate.Status]int{}
	for _, j := range jobs {
		counts[j.Status]++
	}
	for name, st := range c.states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), name)
	}
}
