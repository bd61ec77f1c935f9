package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/vsmig/vsmig/migrate/fleet"
)

// fleetStartWait bounds how long vsmigd waits for its first registration
// before it serves anyway (answering "cluster unavailable" until it is
// registered).
const fleetStartWait = 15 * time.Second

// openFleet connects to the cluster the settings name; nil without
// cluster_endpoints (a host on its own).
func openFleet(cfg Config, host string, logger *slog.Logger) (*fleet.Fleet, error) {
	if cfg.ClusterEndpoints == "" {
		return nil, nil
	}
	var eps []string
	for _, e := range strings.Split(cfg.ClusterEndpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	f, err := fleet.New(fleet.Config{
		Endpoints: eps,
		CertFile:  cfg.ClusterCertFile, KeyFile: cfg.ClusterKeyFile, CAFile: cfg.ClusterCAFile,
		Prefix:     cfg.ClusterPrefix,
		LeaseTTL:   cfg.ClusterLeaseTTL,
		LeaseFile:  filepath.Join(cfg.StateDir, "cluster-lease"),
		MaxRunning: cfg.ClusterMaxRunning,
		Host:       host,
		Endpoint:   advertiseURL(cfg, host),
		Version:    version,
		Logger:     logger,
	})
	if err != nil {
		return nil, fmt.Errorf("config key \"cluster_endpoints\": %w", err)
	}
	return f, nil
}

// startFleet registers the host; if etcd does not answer in time it logs
// so and lets the fleet go on trying in the background.
func startFleet(ctx context.Context, f *fleet.Fleet, eng fleet.Engine, logger *slog.Logger) {
	sctx, cancel := context.WithTimeout(ctx, fleetStartWait)
	defer cancel()
	if err := f.Start(sctx, eng); err != nil {
		logger.Warn("not registered in the cluster yet; new migrations are refused (5, cluster unavailable) until it is", "err", err)
	}
}

// advertiseURL is the WS-Management URL the host registers: the setting,
// or https://HOST:PORT/wsman from the HTTPS (else HTTP) listener.
func advertiseURL(cfg Config, host string) string {
	if cfg.AdvertiseURL != "" {
		return cfg.AdvertiseURL
	}
	scheme, addr := "https", cfg.HTTPSAddr
	if addr == "" || addr == "-" {
		scheme, addr = "http", cfg.HTTPAddr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		port = "5986"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/wsman"
}
