package libvirt

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"sync"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// The JOB_COMPLETED event, read off the wire.
//
// libvirt sends it on the source right after the hand-over, with the
// job's final statistics as typed parameters. go-libvirt
// (v0.0.0-20261013170128) decodes events without its typed-parameter
// decoder, so its router drops that message as malformed and a subscriber
// never sees it. The events connection therefore carries a tap: a copy of
// what go-libvirt reads goes through frameTap, which follows libvirt's RPC
// framing (stable: it is libvirt's remote protocol) and decodes only that
// one message. Everything else is skipped without being buffered.

const (
	remoteProgram    = 0x20008086 // REMOTE_PROGRAM
	procJobCompleted = 363        // REMOTE_PROC_DOMAIN_EVENT_CALLBACK_JOB_COMPLETED
	msgTypeMessage   = 2          // VIR_NET_MESSAGE: an event
	frameHeaderLen   = 28         // length word and the six header words
	// maxEventLen bounds what the tap buffers: the message of 64 typed
	// parameters with their names is a few KiB.
	maxEventLen = 1 << 20
	// maxFrameLen is libvirt's VIR_NET_MESSAGE_MAX: a longer length word
	// means the tap has lost the framing, and it stops.
	maxFrameLen = 32 << 20
	// maxJobStats is REMOTE_DOMAIN_JOB_STATS_MAX.
	maxJobStats = 64
)

// jobCompletedHook receives a JOB_COMPLETED event's domain and statistics.
type jobCompletedHook func(dom golibvirt.UUID, params []golibvirt.TypedParam)

// frameTap follows a libvirt RPC byte stream fed to it in pieces.
type frameTap struct {
	on   jobCompletedHook
	head []byte // the frame header being gathered
	body []byte // the payload of a JOB_COMPLETED event being gathered
	want int    // payload bytes still to come for the current frame
	keep bool   // whether the current frame's payload is gathered
	dead bool   // the framing was lost: the tap has stopped
}

// feed takes the next bytes of the stream.
func (t *frameTap) feed(b []byte) {
	for len(b) > 0 && !t.dead {
		if t.want == 0 && !t.keep {
			n := min(frameHeaderLen-len(t.head), len(b))
			t.head = append(t.head, b[:n]...)
			b = b[n:]
			if len(t.head) < frameHeaderLen {
				return
			}
			t.startFrame()
			continue
		}
		n := min(t.want, len(b))
		if t.keep {
			t.body = append(t.body, b[:n]...)
		}
		t.want -= n
		b = b[n:]
		if t.want == 0 {
			t.endFrame()
		}
	}
}

func (t *frameTap) startFrame() {
	h := t.head
	t.head = t.head[:0]
	length := binary.BigEndian.Uint32(h[0:])
	if length < frameHeaderLen || length > maxFrameLen {
		t.dead = true
		return
	}
	prog, proc, typ := binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint32(h[12:]), binary.BigEndian.Uint32(h[16:])
	t.want = int(length) - frameHeaderLen
	t.keep = prog == remoteProgram && proc == procJobCompleted && typ == msgTypeMessage && t.want <= maxEventLen
	t.body = t.body[:0]
	if t.want == 0 {
		t.endFrame()
	}
}

func (t *frameTap) endFrame() {
	if t.keep {
		if dom, params, err := decodeJobCompleted(t.body); err == nil && t.on != nil {
			t.on(dom, params)
		}
	}
	t.keep = false
	t.body = t.body[:0]
}

// xdrReader reads XDR (RFC 4506) items from a buffer.
type xdrReader struct {
	b   []byte
	err error
}

var errShort = errors.New("libvirt: event message too short")

func (r *xdrReader) next(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *xdrReader) u32() uint32 {
	if v := r.next(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *xdrReader) u64() uint64 {
	if v := r.next(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *xdrReader) str() string {
	n := r.u32()
	if n > uint32(len(r.b)) {
		r.err = errShort
		return ""
	}
	s := string(r.next(int(n)))
	r.next(int(-n & 3)) // padding to a multiple of four
	return s
}

// decodeJobCompleted decodes remote_domain_event_callback_job_completed_msg:
// the callback ID, the domain (name, UUID, ID) and its typed parameters.
// The values take the Go types go-libvirt gives them.
func decodeJobCompleted(b []byte) (golibvirt.UUID, []golibvirt.TypedParam, error) {
	r := &xdrReader{b: b}
	var u golibvirt.UUID
	r.u32() // callback ID
	r.str() // domain name
	copy(u[:], r.next(len(u)))
	r.u32() // domain ID
	n := r.u32()
	if r.err != nil {
		return u, nil, r.err
	}
	if n > maxJobStats {
		return u, nil, errors.New("libvirt: event has too many parameters")
	}
	params := make([]golibvirt.TypedParam, 0, n)
	for range n {
		field := r.str()
		typ := int32(r.u32())
		var v any
		switch typ {
		case 1: // INT
			v = int32(r.u32())
		case 2: // UINT
			v = r.u32()
		case 3: // LLONG
			v = int64(r.u64())
		case 4: // ULLONG
			v = r.u64()
		case 5: // DOUBLE
			v = math.Float64frombits(r.u64())
		case 6: // BOOLEAN
			v = int32(r.u32())
		case 7: // STRING
			v = r.str()
		default:
			return u, nil, errors.New("libvirt: event parameter of unknown type")
		}
		if r.err != nil {
			return u, nil, r.err
		}
		params = append(params, golibvirt.TypedParam{Field: field, Value: golibvirt.TypedParamValue{D: uint32(typ), I: v}})
	}
	return u, params, nil
}

// tapConn hands a copy of what is read from the connection to a frameTap.
// go-libvirt reads its connection from one goroutine; the mutex only
// guards against a second reader.
type tapConn struct {
	net.Conn
	mu  sync.Mutex
	tap frameTap
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.tap.feed(p[:n])
		c.mu.Unlock()
	}
	return n, err
}
