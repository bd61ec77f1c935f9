package job

import (
	"bytes"
	"reflect"
)

// progressOnly reports whether nj differs from old in nothing but the live
// progress of a migration: PercentComplete, JobStatus (its status line,
// "Running: 40%, iteration 3"), DataTotal, DataProcessed, DataRemaining,
// Iteration, DirtyRate and ExpectedDowntime. Such a change need not reach
// the disk at once (see Store.Update); any other change (State, times,
// ErrorCode, ErrorDescription, Downtime, TotalTime, removal settings)
// must.
func progressOnly(old, nj *Job) bool {
	if !bytes.Equal(old.Request, nj.Request) {
		return false
	}
	a, b := *old, *nj
	b.PercentComplete, b.JobStatus = a.PercentComplete, a.JobStatus
	b.DataTotal, b.DataProcessed, b.DataRemaining = a.DataTotal, a.DataProcessed, a.DataRemaining
	b.Iteration, b.DirtyRate, b.ExpectedDowntime = a.Iteration, a.DirtyRate, a.ExpectedDowntime
	b.Request = a.Request
	return reflect.DeepEqual(a, b)
}
