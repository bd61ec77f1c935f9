// Command simhv serves one simulated cluster of hypervisor hosts
// (migrate/sim) over HTTP, so that several vsmigd processes, each with
// driver=sim and sim_url pointing here and its own host_name, share it:
// the fleet tests and `make run-cluster` use it. Loopback only; no
// authentication.
//
//	simhv -listen 127.0.0.1:7100 -config cluster.json
//
// The config is a JSON sim.Config (Hosts, VMs, Speed). It prints
// "simhv: listening on ADDR" once it serves.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/vsmig/vsmig/migrate/sim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen `ADDR`")
	config := flag.String("config", "", "cluster `FILE` (JSON sim.Config); empty: sim.ClusterDemoConfig, the demo's")
	flag.Parse()
	if err := run(*listen, *config); err != nil {
		fmt.Fprintln(os.Stderr, "simhv:", err)
		os.Exit(1)
	}
}

func run(listen, config string) error {
	cfg := sim.ClusterDemoConfig()
	if config != "" {
		b, err := os.ReadFile(config)
		if err != nil {
			return err
		}
		cfg = sim.Config{}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", config, err)
		}
	}
	c, err := sim.NewCluster(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("simhv: listening on %s\n", l.Addr())
	srv := &http.Server{Handler: sim.Handler(c), ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(l)
}
