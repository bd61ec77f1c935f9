package indication_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/indication"
	"github.com/vsmig/vsmig/schemas"
)

// jobSource is a fake source of instance changes: a job whose state moves.
type jobSource struct {
	reg cim.Registry
	pub *indication.Publisher
	cur *cim.Instance
}

func (j *jobSource) job(state int) *cim.Instance {
	c, _ := j.reg.Class("VSMIG_MigrationJob")
	inst := cim.NewInstance(c, "root/virtualization")
	inst.MustSet("InstanceID", "vsmig:1")
	inst.MustSet("JobState", state)
	return inst
}

func (j *jobSource) create() { j.cur = j.job(2); j.pub.Created(j.cur) }
func (j *jobSource) move(state int) {
	prev := j.cur
	j.cur = j.job(state)
	j.pub.Modified(prev, j.cur)
}
func (j *jobSource) remove() { j.pub.Deleted(j.cur) }

func newPublisher(t *testing.T, history int) (*indication.Publisher, *jobSource) {
	t.Helper()
	reg := schemas.MustLoad()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	pub, err := indication.New(indication.Config{Registry: reg, Host: "host-a", History: history, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return pub, &jobSource{reg: reg, pub: pub}
}

func all(*cim.Instance) bool { return true }

func collect(t *testing.T, pub *indication.Publisher, match func(*cim.Instance) bool, bookmark string) (*[]indication.Indication, func()) {
	t.Helper()
	var got []indication.Indication
	cancel, err := pub.Subscribe(match, bookmark, func(in indication.Indication) { got = append(got, in) })
	if err != nil {
		t.Fatal(err)
	}
	return &got, cancel
}

func TestLifecycle(t *testing.T) {
	pub, src := newPublisher(t, 0)
	got, cancel := collect(t, pub, all, "")
	src.create()
	src.move(4)
	src.move(7)
	src.remove()
	want := []string{"CIM_InstCreation", "CIM_InstModification", "CIM_InstModification", "CIM_InstDeletion"}
	if len(*got) != len(want) {
		t.Fatalf("%d indications, want %d", len(*got), len(want))
	}
	for i, in := range *got {
		if in.Instance.Class.Name != want[i] {
			t.Errorf("%d: %s, want %s", i, in.Instance.Class.Name, want[i])
		}
		if n, _ := in.Instance.Get("SequenceNumber"); n != int64(i+1) {
			t.Errorf("%d: SequenceNumber %v", i, n)
		}
		src, _ := in.Instance.Get("SourceInstance")
		if si, ok := src.(*cim.Instance); !ok || si.Class.Name != "VSMIG_MigrationJob" {
			t.Errorf("%d: SourceInstance %v", i, src)
		}
		if h, _ := in.Instance.Get("SourceInstanceHost"); h != "host-a" {
			t.Errorf("%d: SourceInstanceHost %v", i, h)
		}
	}
	prev, _ := (*got)[2].Instance.Get("PreviousInstance")
	if st, _ := prev.(*cim.Instance).Get("JobState"); st != uint64(4) {
		t.Errorf("PreviousInstance.JobState = %v, want 4", st)
	}
	cancel()
	src.move(10)
	if len(*got) != 4 || pub.Subscribers() != 0 {
		t.Errorf("delivered after cancel")
	}
}

func TestMatch(t *testing.T) {
	pub, src := newPublisher(t, 0)
	onlyMods, cancel := collect(t, pub, func(in *cim.Instance) bool { return in.Class.Name == indication.ClassInstModification }, "")
	defer cancel()
	src.create()
	src.move(4)
	src.remove()
	if len(*onlyMods) != 1 {
		t.Errorf("%d indications, want the one modification", len(*onlyMods))
	}
}

func TestBookmarks(t *testing.T) {
	pub, src := newPublisher(t, 3)
	got, cancel := collect(t, pub, all, "")
	src.create()
	src.move(3)
	src.move(4)
	src.move(7)
	cancel()
	second := (*got)[1].Bookmark
	resumed, cancel2 := collect(t, pub, all, second)
	defer cancel2()
	if len(*resumed) != 2 {
		t.Fatalf("resume after the 2nd: %d replayed, want 2", len(*resumed))
	}
	earliest, cancel3 := collect(t, pub, all, indication.BookmarkEarliest)
	defer cancel3()
	if len(*earliest) != 3 {
		t.Errorf("earliest: %d replayed, want the 3 kept", len(*earliest))
	}
	if _, err := pub.Subscribe(all, (*got)[0].Bookmark[:len((*got)[0].Bookmark)-1]+"0", func(indication.Indication) {}); !errors.Is(err, indication.ErrBookmarkExpired) {
		t.Errorf("bookmark before the kept ones: %v, want ErrBookmarkExpired", err)
	}
	for _, bm := range []string{"x", "other-epoch:1", (*got)[0].Bookmark + "9"} {
		if _, err := pub.Subscribe(all, bm, func(indication.Indication) {}); !errors.Is(err, indication.ErrBookmarkInvalid) {
			t.Errorf("bookmark %q: %v, want ErrBookmarkInvalid", bm, err)
		}
	}
	src.move(10)
	if len(*resumed) != 3 || len(*earliest) != 4 {
		t.Errorf("live indications after the replay: %d, %d", len(*resumed), len(*earliest))
	}
}

// TestCancelFromDeliver: a subscriber may end itself while an indication
// is delivered (a full queue whose policy cancels), without deadlock.
func TestCancelFromDeliver(t *testing.T) {
	pub, src := newPublisher(t, 0)
	var cancel func()
	n := 0
	cancel, err := pub.Subscribe(all, "", func(indication.Indication) { n++; cancel() })
	if err != nil {
		t.Fatal(err)
	}
	src.create()
	src.move(4)
	if n != 1 || pub.Subscribers() != 0 {
		t.Errorf("delivered %d, subscribers %d", n, pub.Subscribers())
	}
}
