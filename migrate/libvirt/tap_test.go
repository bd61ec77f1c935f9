package libvirt

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// xdr builds XDR test messages.
type xdr struct{ bytes.Buffer }

func (x *xdr) u32(v uint32) *xdr { _ = binary.Write(&x.Buffer, binary.BigEndian, v); return x }
func (x *xdr) u64(v uint64) *xdr { _ = binary.Write(&x.Buffer, binary.BigEndian, v); return x }
func (x *xdr) str(s string) *xdr {
	x.u32(uint32(len(s)))
	x.WriteString(s)
	x.Write(make([]byte, -len(s)&3))
	return x
}

// frame is a libvirt RPC message: length, header, payload.
func frame(prog, proc, typ uint32, payload []byte) []byte {
	var x xdr
	x.u32(uint32(frameHeaderLen + len(payload))).u32(prog).u32(1).u32(proc).u32(typ).u32(0).u32(0)
	x.Write(payload)
	return x.Bytes()
}

var tapDom = golibvirt.UUID(mustUUID(vmID))

// jobCompletedPayload is a JOB_COMPLETED message as libvirt 9.0 sends it,
// with one parameter of each type.
func jobCompletedPayload() []byte {
	var x xdr
	x.u32(7).str("web1")
	x.Write(tapDom[:])
	x.u32(12).u32(7)
	x.str("operation").u32(1).u32(5)                             // INT
	x.str("memory_iteration").u32(2).u32(4)                      // UINT
	x.str("downtime").u32(3).u64(44)                             // LLONG
	x.str("data_processed").u32(4).u64(144628413)                // ULLONG
	x.str("compression_ratio").u32(5).u64(math.Float64bits(1.5)) // DOUBLE
	x.str("flag").u32(6).u32(1)                                  // BOOLEAN
	x.str("note").u32(7).str("ok")                               // STRING
	return x.Bytes()
}

func TestDecodeJobCompleted(t *testing.T) {
	u, ps, err := decodeJobCompleted(jobCompletedPayload())
	if err != nil || u != tapDom || len(ps) != 7 {
		t.Fatalf("decodeJobCompleted = %v, %d params, %v", u, len(ps), err)
	}
	want := []any{int32(5), uint32(4), int64(44), uint64(144628413), 1.5, int32(1), "ok"}
	for i, p := range ps {
		if p.Value.I != want[i] || p.Value.D != uint32(i+1) {
			t.Errorf("param %s = %T %v (type %d), want %T %v", p.Field, p.Value.I, p.Value.I, p.Value.D, want[i], want[i])
		}
	}
	st := decodeJobStats(int32(golibvirt.DomainJobCompleted), ps).result()
	if st.Downtime.Milliseconds() != 44 || st.DataTransferred != 144628413 || st.Iterations != 4 {
		t.Errorf("as a result: %+v", st)
	}
	for n := range len(jobCompletedPayload()) {
		if _, _, err := decodeJobCompleted(jobCompletedPayload()[:n]); err == nil {
			t.Fatalf("a message cut at %d bytes decoded", n)
		}
	}
}

// TestFrameTap: among other messages, in pieces of any size, the tap
// finds each JOB_COMPLETED event once; a stream whose framing is lost
// stops it.
func TestFrameTap(t *testing.T) {
	var stream []byte
	stream = append(stream, frame(remoteProgram, 1, 1, make([]byte, 40))...) // a reply
	stream = append(stream, frame(0x6b656570, 1, msgTypeMessage, nil)...)    // keepalive
	stream = append(stream, frame(remoteProgram, procJobCompleted, msgTypeMessage, jobCompletedPayload())...)
	stream = append(stream, frame(remoteProgram, 318, msgTypeMessage, make([]byte, 64))...)      // another event
	stream = append(stream, frame(remoteProgram, procJobCompleted, 1, jobCompletedPayload())...) // not an event
	stream = append(stream, frame(remoteProgram, procJobCompleted, msgTypeMessage, jobCompletedPayload())...)
	for _, chunk := range []int{1, 3, 7, 28, 100, len(stream)} {
		var got int
		tap := frameTap{on: func(u golibvirt.UUID, ps []golibvirt.TypedParam) {
			if u == tapDom && len(ps) == 7 {
				got++
			}
		}}
		for b := stream; len(b) > 0; {
			n := min(chunk, len(b))
			tap.feed(b[:n])
			b = b[n:]
		}
		if got != 2 || tap.dead {
			t.Errorf("chunks of %d: %d events, dead %v; want 2", chunk, got, tap.dead)
		}
	}
	tap := frameTap{on: func(golibvirt.UUID, []golibvirt.TypedParam) { t.Error("event after the framing was lost") }}
	tap.feed([]byte{0, 0, 0, 3}) // a length shorter than the header
	tap.feed(make([]byte, 24))
	tap.feed(frame(remoteProgram, procJobCompleted, msgTypeMessage, jobCompletedPayload()))
	if !tap.dead {
		t.Error("the tap goes on after a bad length")
	}
}

// FuzzFrameTap: any stream of bytes, the one go-libvirt reads from the
// network, leaves the tap without a panic and within its bounds.
func FuzzFrameTap(f *testing.F) {
	f.Add(frame(remoteProgram, procJobCompleted, msgTypeMessage, jobCompletedPayload()))
	f.Add(frame(remoteProgram, 1, 1, nil))
	f.Add([]byte{0, 0, 0, 28})
	f.Fuzz(func(t *testing.T, b []byte) {
		tap := frameTap{on: func(golibvirt.UUID, []golibvirt.TypedParam) {}}
		tap.feed(b)
		if len(tap.body) > maxEventLen || len(tap.head) > frameHeaderLen {
			t.Fatalf("tap holds %d body and %d header bytes", len(tap.body), len(tap.head))
		}
		_, _, _ = decodeJobCompleted(b)
	})
}
