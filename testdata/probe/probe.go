// Package probe measures the downtime a client of a lab guest sees during
// a migration: it sends a small UDP request to the guest's echo port
// (testdata/guest) every interval and records the longest time without an
// answer. QEMU reports the downtime it caused on the source and
// destination; this is the gap a client on the network sees, which also
// holds the switch of the guest's network port to the destination (QEMU's
// announcement to the bridge) and anything lost on the way.
package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Result is what a probe saw.
type Result struct {
	Sent, Answered uint64
	// LongestGap is the longest time between two answers (or from the
	// start to the first, or from the last to the end), and GapFrom when
	// it began.
	LongestGap time.Duration
	GapFrom    time.Time
}

func (r Result) String() string {
	return fmt.Sprintf("longest gap %v (from %s), %d of %d requests answered",
		r.LongestGap.Round(time.Millisecond), r.GapFrom.Format("15:04:05.000"), r.Answered, r.Sent)
}

// Probe is a running probe; Stop ends it.
type Probe struct {
	conn   *net.UDPConn
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu   sync.Mutex
	res  Result
	last time.Time // the last answer, or the start
}

// requestSize is a request: a sequence number, then padding.
const requestSize = 16

// Start probes addr ("10.213.0.11:7") every interval until Stop. Its
// memory does not grow with time: it keeps counts and the longest gap.
func Start(addr string, every time.Duration) (*Probe, error) {
	raddr, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp4", nil, raddr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	p := &Probe{conn: conn, cancel: cancel, last: now}
	p.done.Add(2)
	go p.send(ctx, every)
	go p.receive()
	return p, nil
}

func (p *Probe) send(ctx context.Context, every time.Duration) {
	defer p.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	buf := make([]byte, requestSize)
	for seq := uint64(0); ; seq++ {
		binary.BigEndian.PutUint64(buf, seq)
		if _, err := p.conn.Write(buf); err == nil {
			p.mu.Lock()
			p.res.Sent++
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Probe) receive() {
	defer p.done.Done()
	buf := make([]byte, 64)
	for {
		n, err := p.conn.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || n != requestSize {
			continue // an ICMP unreachable while the guest moves, or noise
		}
		p.answered(time.Now())
	}
}

func (p *Probe) answered(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Answered++
	p.gap(at)
	p.last = at
}

// gap counts the time from the last answer to at.
func (p *Probe) gap(at time.Time) {
	if g := at.Sub(p.last); g > p.res.LongestGap {
		p.res.LongestGap, p.res.GapFrom = g, p.last
	}
}

// Stop ends the probe and returns what it saw; the time since the last
// answer counts as a gap too.
func (p *Probe) Stop() Result {
	p.cancel()
	p.conn.Close()
	p.done.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gap(time.Now())
	return p.res
}
