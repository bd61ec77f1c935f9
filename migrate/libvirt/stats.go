package libvirt

import (
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// jobStats is a decoded DomainGetJobStats answer.
type jobStats struct {
	Type   golibvirt.DomainJobType
	Fields map[string]any
}

func decodeJobStats(typ int32, params []golibvirt.TypedParam) jobStats {
	s := jobStats{Type: golibvirt.DomainJobType(typ), Fields: make(map[string]any, len(params))}
	for _, p := range params {
		s.Fields[p.Field] = p.Value.I
	}
	return s
}

// u64 reads a numeric field, whatever integer type libvirt sent it as.
func (s jobStats) u64(field string) (uint64, bool) {
	switch v := s.Fields[field].(type) {
	case uint64:
		return v, true
	case int64:
		return uint64(max(v, 0)), true
	case uint32:
		return uint64(v), true
	case int32:
		return uint64(max(v, 0)), true
	case float64:
		return uint64(max(v, 0)), true
	}
	return 0, false
}

func (s jobStats) get(field string) uint64 { v, _ := s.u64(field); return v }

func (s jobStats) operation() golibvirt.DomainJobOperation {
	return golibvirt.DomainJobOperation(s.get(golibvirt.DomainJobOperationStr))
}

func ms(v uint64) time.Duration { return time.Duration(v) * time.Millisecond }

// progress maps libvirt's job statistics to a migrate.Progress. memory is
// the guest's memory in bytes (0 if unknown): while libvirt copies disks,
// before the memory moves, it counts the disks alone in its data figures;
// the memory still to send is added then, so that the job's total and
// remaining data cover the whole migration from its start and its
// percentage never has to go back (or run ahead) when the memory begins.
func (s jobStats) progress(memory uint64) migrate.Progress {
	p := migrate.Progress{
		Elapsed:          ms(s.get(golibvirt.DomainJobTimeElapsed)),
		DataTotal:        s.get(golibvirt.DomainJobDataTotal),
		DataProcessed:    s.get(golibvirt.DomainJobDataProcessed),
		DataRemaining:    s.get(golibvirt.DomainJobDataRemaining),
		MemoryTotal:      s.get(golibvirt.DomainJobMemoryTotal),
		MemoryRemaining:  s.get(golibvirt.DomainJobMemoryRemaining),
		Iteration:        s.get(golibvirt.DomainJobMemoryIteration),
		Bandwidth:        s.get(golibvirt.DomainJobMemoryBps),
		ExpectedDowntime: ms(s.get(golibvirt.DomainJobDowntime)),
	}
	// The dirty rate is in pages per second.
	page := s.get(golibvirt.DomainJobMemoryPageSize)
	if page == 0 {
		page = 4096
	}
	p.DirtyRate = s.get(golibvirt.DomainJobMemoryDirtyRate) * page
	p.Phase = s.phase()
	if p.Phase == "storage copy" && p.MemoryTotal == 0 && memory > 0 {
		p.MemoryTotal, p.MemoryRemaining = memory, memory
		p.DataTotal += memory
		p.DataRemaining += memory
	}
	return p
}

// phase guesses where the migration is from its statistics.
func (s jobStats) phase() string {
	switch {
	case s.Type == golibvirt.DomainJobNone:
		return "setup"
	case s.Type != golibvirt.DomainJobUnbounded && s.Type != golibvirt.DomainJobBounded:
		return "finishing"
	}
	if _, ok := s.u64(golibvirt.DomainJobMemoryPostcopyReqs); ok && s.get(golibvirt.DomainJobMemoryPostcopyReqs) > 0 {
		return "postcopy"
	}
	total := s.get(golibvirt.DomainJobMemoryTotal)
	switch {
	case total == 0 && s.get(golibvirt.DomainJobDiskTotal) > 0:
		// The disks are mirrored to the destination first (NBD); the
		// memory follows once they are in step.
		return "storage copy"
	case total == 0:
		return "setup"
	case s.get(golibvirt.DomainJobMemoryRemaining) == 0 && s.get(golibvirt.DomainJobMemoryProcessed) > 0:
		return "stop-and-copy"
	}
	return "precopy"
}

// result maps the statistics of a completed job to a migrate.Result.
func (s jobStats) result() migrate.Result {
	data := s.get(golibvirt.DomainJobDataProcessed)
	if data == 0 {
		data = s.get(golibvirt.DomainJobMemoryProcessed)
	}
	return migrate.Result{
		TotalTime:       ms(s.get(golibvirt.DomainJobTimeElapsed)),
		Downtime:        ms(s.get(golibvirt.DomainJobDowntime)),
		DataTransferred: data,
		Iterations:      s.get(golibvirt.DomainJobMemoryIteration),
	}
}
