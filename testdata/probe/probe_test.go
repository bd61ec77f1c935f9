package probe

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echo serves a UDP echo that can be paused, as a migrating guest is.
func echo(t *testing.T) (addr string, paused *atomic.Bool) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	paused = new(atomic.Bool)
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if !paused.Load() {
				c.WriteToUDP(buf[:n], from)
			}
		}
	}()
	return c.LocalAddr().String(), paused
}

// The gap a probe reports holds the pause: it can only be longer (the
// machine is shared), never shorter.
func TestProbeSeesThePause(t *testing.T) {
	addr, paused := echo(t)
	p, err := Start(addr, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for p.answeredCount() < 10 {
		time.Sleep(time.Millisecond)
	}
	const pause = 200 * time.Millisecond
	paused.Store(true)
	time.Sleep(pause)
	paused.Store(false)
	n := p.answeredCount()
	for p.answeredCount() < n+10 {
		time.Sleep(time.Millisecond)
	}
	r := p.Stop()
	t.Log(r)
	if r.LongestGap < pause {
		t.Errorf("longest gap %v, shorter than the %v pause", r.LongestGap, pause)
	}
	if r.Answered == 0 || r.Answered > r.Sent {
		t.Errorf("answered %d of %d", r.Answered, r.Sent)
	}
}

// Nothing answering is one gap, from the start to the stop.
func TestProbeNoAnswer(t *testing.T) {
	addr, paused := echo(t)
	paused.Store(true)
	p, err := Start(addr, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	r := p.Stop()
	if r.Answered != 0 || r.LongestGap < 50*time.Millisecond {
		t.Errorf("%v", r)
	}
}

func (p *Probe) answeredCount() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.res.Answered
}
