package boltstore

import (
	"reflect"

	"github.com/vsmig/vsmig/migrate"
)

// progressOnly reports whether nj differs from old in nothing but the live
// progress of a migration: Percent, StatusLine ("Running: 40%, iteration
// 3") and Progress (the sample's figures). Such a change need not reach
// the disk at once (see migrate.Store.Update); any other change (Status,
// Stopping, times, ErrKind, Error, Result, Meta) must.
func progressOnly(old, nj *migrate.Job) bool {
	a, b := *old, *nj
	b.Percent, b.StatusLine, b.Progress = a.Percent, a.StatusLine, a.Progress
	return reflect.DeepEqual(a, b)
}
