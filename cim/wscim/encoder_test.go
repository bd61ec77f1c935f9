package wscim

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

// TestEncoderSameAsEncodeInstance checks that an Encoder, used again and
// again and from several goroutines, writes what EncodeInstance writes.
func TestEncoderSameAsEncodeInstance(t *testing.T) {
	reg := cimtest.Registry(t)
	inst := cimtest.AllTypes(t, reg)
	opts := []EncodeOptions{{}, {TypeAttr: true, ExcludeNil: true}, {IncludeProperties: []string{"instanceid", "Ref", "nope"}}}
	want := make([]string, len(opts))
	for i, opt := range opts {
		want[i] = writeElement(t, EncodeInstance(inst, opt))
	}
	var enc Encoder
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				for i, opt := range opts {
					if got := writeElement(t, enc.Encode(inst, opt)); got != want[i] {
						t.Errorf("Encoder.Encode(%+v) differs from EncodeInstance:\n%s\n%s", opt, got, want[i])
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestEncoderClassChanged checks that the cached names follow a class
// whose properties change after it was first encoded.
func TestEncoderClassChanged(t *testing.T) {
	c := &cim.Class{Name: "CIM_Thing", Properties: []*cim.Property{{Name: "A", Type: cim.String}}}
	var enc Encoder
	one := cim.NewInstance(c, "")
	one.MustSet("A", "x")
	if got := writeElement(t, enc.Encode(one, EncodeOptions{})); !strings.Contains(got, "<p:A>x</p:A>") {
		t.Fatalf("first encoding: %s", got)
	}
	c.Properties = append(c.Properties, &cim.Property{Name: "B", Type: cim.Reference})
	c.Properties[0].Name = "Renamed"
	two := cim.NewInstance(c, "")
	two.MustSet("Renamed", "y")
	got := writeElement(t, enc.Encode(two, EncodeOptions{}))
	for _, want := range []string{"<p:Renamed>y</p:Renamed>", `<p:B xsi:nil="true"/>`, `xmlns:a="` + NSAddressing + `"`} {
		if !strings.Contains(got, want) {
			t.Errorf("after the change, %s lacks %s", got, want)
		}
	}
}

// TestEncoderBounded checks that the cache does not grow past
// maxCachedClasses.
func TestEncoderBounded(t *testing.T) {
	var enc Encoder
	for i := range maxCachedClasses + 10 {
		c := &cim.Class{Name: fmt.Sprintf("CIM_C%d", i)}
		enc.Encode(cim.NewInstance(c, ""), EncodeOptions{})
	}
	n := 0
	enc.classes.Range(func(_, _ any) bool { n++; return true })
	if n > maxCachedClasses {
		t.Errorf("%d classes cached, want at most %d", n, maxCachedClasses)
	}
}
