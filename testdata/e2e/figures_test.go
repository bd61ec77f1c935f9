//go:build lab

package e2e

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
)

// jobSample is one Get of a job as step.py's wait records it: its state
// and figures, as the client saw them.
type jobSample struct {
	State     string `json:"JobState"`
	Percent   string `json:"PercentComplete"`
	Total     string `json:"DataTotal"`
	Processed string `json:"DataProcessed"`
	Remaining string `json:"DataRemaining"`
}

// dataPercent is the share of the work the figures say is done:
// 100 − remaining × 100 / total, rounded down, and 0 while nothing has
// been sent. A job's PercentComplete may never be ahead of it.
func dataPercent(processed, remaining, total uint64) uint64 {
	if processed == 0 || total == 0 {
		return 0
	}
	remaining = min(remaining, total)
	return 100 - (remaining*100+total-1)/total
}

func num(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }

// requireConsistentFigures checks a job's figures at every sample the
// client took (w is step.py wait's result) and at every progress update
// the engine published (the "job progress" lines of the daemon's debug
// log):
//   - PercentComplete and DataProcessed never decrease;
//   - PercentComplete is 0 while DataProcessed is, at most 99 before the
//     job completed and 100 once it has;
//   - each published PercentComplete is at most what the figures published
//     with it, or with an earlier update, say (dataPercent): the client's
//     samples cannot show this alone, as they can miss the update at which
//     the percentage rose.
func requireConsistentFigures(t *testing.T, w map[string]string, d *daemon, job string) {
	t.Helper()
	var samples []jobSample
	if err := json.Unmarshal([]byte(w["samples_json"]), &samples); err != nil {
		t.Fatalf("samples_json: %v: %q", err, w["samples_json"])
	}
	var prevPct, prevProc uint64
	for i, s := range samples {
		pct, proc := num(s.Percent), num(s.Processed)
		switch {
		case pct < prevPct:
			t.Errorf("sample %d: PercentComplete went back from %d to %d (%+v)", i, prevPct, pct, s)
		case proc < prevProc:
			t.Errorf("sample %d: DataProcessed went back from %d to %d (%+v)", i, prevProc, proc, s)
		case proc == 0 && pct > 0:
			t.Errorf("sample %d: PercentComplete %d with nothing processed (%+v)", i, pct, s)
		case s.State == "7" && pct != 100, s.State != "7" && pct > 99:
			t.Errorf("sample %d: PercentComplete %d in JobState %s", i, pct, s.State)
		}
		prevPct, prevProc = max(prevPct, pct), max(prevProc, proc)
	}
	updates := progressLines(d.log.String(), job)
	if len(updates) == 0 {
		t.Errorf("the daemon's log has no progress update of %s", job)
	}
	var justified uint64
	for i, u := range updates {
		justified = max(justified, dataPercent(u.processed, u.remaining, u.total))
		if u.percent > justified {
			t.Errorf("update %d of %d: PercentComplete %d, ahead of its figures (processed %d, remaining %d, total %d: %d %%)",
				i, len(updates), u.percent, u.processed, u.remaining, u.total, justified)
		}
	}
	t.Logf("figures consistent in %d samples and %d updates", len(samples), len(updates))
}

type progressLine struct{ percent, processed, remaining, total uint64 }

var progressRe = regexp.MustCompile(`msg="job progress" job=(\S+) .*percent=(\d+) processed=(\d+) remaining=(\d+) total=(\d+)`)

// progressLines are the engine's published progress updates of job, in
// order, from a daemon's debug log.
func progressLines(log, job string) []progressLine {
	var out []progressLine
	for _, m := range progressRe.FindAllStringSubmatch(log, -1) {
		if m[1] != job {
			continue
		}
		out = append(out, progressLine{num(m[2]), num(m[3]), num(m[4]), num(m[5])})
	}
	return out
}
