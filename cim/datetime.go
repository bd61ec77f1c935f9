package cim

import "time"

// Datetime is a CIM datetime: either a timestamp (a point in time with a
// UTC offset in minutes) or an interval (a duration). The textual form is
// yyyymmddhhmmss.mmmmmmsutc for timestamps and ddddddddhhmmss.mmmmmm:000 for
// intervals (DSP0004 §5.2.4).
type Datetime struct {
	Interval bool
	Time     time.Time     // when !Interval
	Duration time.Duration // when Interval
}

// Timestamp returns the Datetime for t.
func Timestamp(t time.Time) Datetime { return Datetime{Time: t} }

// IntervalOf returns the interval Datetime for d.
func IntervalOf(d time.Duration) Datetime { return Datetime{Interval: true, Duration: d} }
