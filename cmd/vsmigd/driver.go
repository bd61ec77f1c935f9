package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/libvirt"
	"github.com/vsmig/vsmig/migrate/sim"
)

// probeTimeout bounds the "auto" driver's attempt to reach libvirt.
const probeTimeout = 3 * time.Second

// demoHost is the local host of the simulated demo cluster.
const demoHost = "host-a"

// openDriver returns the hypervisor driver and the name other hosts reach
// this one by. Its first log line says which driver runs, and says loudly
// when it is the simulated demo.
func openDriver(ctx context.Context, cfg Config, logger *slog.Logger) (migrate.Driver, string, error) {
	host := cfg.HostName
	if cfg.Driver != "sim" {
		if host == "" {
			h, err := os.Hostname()
			if err != nil {
				return nil, "", fmt.Errorf("config key \"host_name\" is empty and the OS host name is unknown: %w", err)
			}
			host = h
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		drv, err := libvirt.New(pctx, libvirt.Config{URI: cfg.LibvirtURI, HostName: host, Logger: logger})
		cancel()
		if err == nil {
			logger.Info("vsmigd starting on libvirt", "driver", "libvirt", "uri", cfg.LibvirtURI, "host", host, "version", version)
			return drv, host, nil
		}
		if cfg.Driver == "libvirt" {
			return nil, "", fmt.Errorf("config key \"libvirt_uri\": cannot reach %s: %w", cfg.LibvirtURI, err)
		}
		logger.Warn("vsmigd starting on the SIMULATED demo cluster: no libvirt reachable; migrations are modelled, not real",
			"driver", "sim", "libvirt_uri", cfg.LibvirtURI, "err", err.Error(), "version", version)
	} else if cfg.SimURL != "" {
		drv, err := sim.NewRemote(cfg.SimURL).Dial(ctx, host)
		if err != nil {
			return nil, "", fmt.Errorf("config key \"sim_url\": %w", err)
		}
		logger.Warn("vsmigd starting on a SHARED SIMULATED cluster (driver=sim, sim_url); migrations are modelled, not real",
			"driver", "sim", "sim_url", cfg.SimURL, "host", host, "version", version)
		return drv, host, nil
	} else {
		logger.Warn("vsmigd starting on the SIMULATED demo cluster (driver=sim); migrations are modelled, not real",
			"driver", "sim", "version", version)
	}
	cluster := sim.DemoCluster()
	return cluster.Host(demoHost), demoHost, nil
}

// engineConfig maps the daemon's settings onto the engine's; zero settings
// keep the engine's defaults.
func engineConfig(cfg Config, logger *slog.Logger) migrate.Config {
	ec := migrate.DefaultConfig()
	ec.Logger = logger
	if cfg.MaxOutgoing > 0 {
		ec.MaxOutgoing = cfg.MaxOutgoing
	}
	if cfg.MaxIncoming > 0 {
		ec.MaxIncoming = cfg.MaxIncoming
	}
	if cfg.MaxDowntime > 0 {
		ec.MaxDowntime = cfg.MaxDowntime
	}
	if cfg.CompletionTimeoutPerGiB > 0 {
		ec.CompletionTimeoutPerGiB = cfg.CompletionTimeoutPerGiB
		ec.MinCompletionTimeout = 2 * cfg.CompletionTimeoutPerGiB
	}
	if cfg.ProgressTimeout > 0 {
		ec.ProgressTimeout = cfg.ProgressTimeout
	}
	ec.AllowAutoConverge = cfg.AutoConverge
	ec.RemoveSourceStorage = cfg.RemoveSourceStorage
	ec.AllowPostCopy = cfg.AllowPostCopy
	ec.DefaultTransport = migrate.Transport(transportType(cfg.DefaultTransport))
	return ec
}

// transportType maps a transport name to its DSP1081 TransportType.
func transportType(name string) uint16 {
	switch name {
	case "ssh":
		return uint16(migrate.SSH)
	case "tls":
		return uint16(migrate.TLS)
	case "tls-strict":
		return uint16(migrate.TLSStrict)
	default:
		return uint16(migrate.TCP)
	}
}
