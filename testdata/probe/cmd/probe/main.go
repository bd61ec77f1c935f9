// Command probe measures the downtime a client of a lab guest sees (see
// package probe): it probes ADDR:PORT every millisecond until it gets
// SIGTERM or SIGINT, then prints the longest gap in milliseconds and what
// it saw. Used by testdata/bench/lab.sh.
//
//	probe 10.213.0.12:7 > result &  ...  kill %1
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vsmig/vsmig/testdata/probe"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe ADDR:PORT")
		os.Exit(2)
	}
	p, err := probe.Start(os.Args[1], time.Millisecond)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	r := p.Stop()
	fmt.Printf("%d %s\n", r.LongestGap.Milliseconds(), r)
}
