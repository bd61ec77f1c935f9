package cim

import (
	"fmt"
	"strings"
	"time"
)

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

// datetimeLen is the length of both textual forms.
const datetimeLen = 25

// maxIntervalDays is the largest day count a time.Duration can hold.
const maxIntervalDays = int64((1<<63 - 1) / int64(24*time.Hour))

// ParseDatetime parses the CIM textual datetime s, a timestamp
// (yyyymmddhhmmss.mmmmmmsutc, s being '+' or '-' and utc the offset from UTC
// in minutes) or an interval (ddddddddhhmmss.mmmmmm:000). Timestamps keep
// their offset as a fixed time zone. Asterisk wildcards (DSP0004 §5.2.4
// "not significant" fields) are not supported and are rejected.
func ParseDatetime(s string) (Datetime, error) {
	if len(s) != datetimeLen {
		return Datetime{}, fmt.Errorf("cim: datetime %q: length %d, want %d", s, len(s), datetimeLen)
	}
	if strings.IndexByte(s, '*') >= 0 {
		return Datetime{}, fmt.Errorf("cim: datetime %q: asterisk wildcards are not supported", s)
	}
	if s[14] != '.' {
		return Datetime{}, fmt.Errorf("cim: datetime %q: missing '.' at position 15", s)
	}
	num := func(from, to int) (int64, error) {
		var n int64
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("cim: datetime %q: non-digit %q at position %d", s, c, i+1)
			}
			n = n*10 + int64(c-'0')
		}
		return n, nil
	}
	var f [8]int64 // fields; index meaning depends on the form
	bounds := [...][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 10}, {10, 12}, {12, 14}, {15, 21}, {22, 25}}
	sep := s[21]
	if sep == ':' {
		bounds[0], bounds[1], bounds[2] = [2]int{0, 8}, [2]int{8, 8}, [2]int{8, 8}
	}
	for i, b := range bounds {
		n, err := num(b[0], b[1])
		if err != nil {
			return Datetime{}, err
		}
		f[i] = n
	}
	switch sep {
	case ':':
		days, hh, mm, ss, us := f[0], f[3], f[4], f[5], f[6]
		if f[7] != 0 {
			return Datetime{}, fmt.Errorf("cim: interval %q: must end in \":000\"", s)
		}
		if hh > 23 || mm > 59 || ss > 59 {
			return Datetime{}, fmt.Errorf("cim: interval %q: hours, minutes or seconds out of range", s)
		}
		if days > maxIntervalDays-1 {
			return Datetime{}, fmt.Errorf("cim: interval %q: too long", s)
		}
		d := time.Duration(days)*24*time.Hour + time.Duration(hh)*time.Hour +
			time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second + time.Duration(us)*time.Microsecond
		if d < 0 {
			return Datetime{}, fmt.Errorf("cim: interval %q: too long", s)
		}
		return IntervalOf(d), nil
	case '+', '-':
		year, mon, day, hh, mm, ss, us, off := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
		if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
			return Datetime{}, fmt.Errorf("cim: timestamp %q: field out of range", s)
		}
		if sep == '-' {
			off = -off
		}
		loc := time.UTC
		if off != 0 {
			loc = time.FixedZone("", int(off)*60)
		}
		t := time.Date(int(year), time.Month(mon), int(day), int(hh), int(mm), int(ss), int(us)*1000, loc)
		if t.Day() != int(day) && ss != 60 {
			return Datetime{}, fmt.Errorf("cim: timestamp %q: no such day", s)
		}
		return Timestamp(t), nil
	default:
		return Datetime{}, fmt.Errorf("cim: datetime %q: position 22 must be '+', '-' or ':'", s)
	}
}

// String returns the CIM textual form of d. Timestamps are written with
// the offset of their own time zone; sub-microsecond precision is
// truncated. A negative interval is written as zero, and a year outside
// 0..9999 is clamped, since the text form cannot express either.
func (d Datetime) String() string {
	var b [datetimeLen]byte
	put := func(at, width int, n int64) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + n%10)
			n /= 10
		}
	}
	if d.Interval {
		dur := d.Duration
		if dur < 0 {
			dur = 0
		}
		day := int64(24 * time.Hour)
		put(0, 8, int64(dur)/day)
		rest := int64(dur) % day
		put(8, 2, rest/int64(time.Hour))
		put(10, 2, rest%int64(time.Hour)/int64(time.Minute))
		put(12, 2, rest%int64(time.Minute)/int64(time.Second))
		b[14] = '.'
		put(15, 6, rest%int64(time.Second)/int64(time.Microsecond))
		b[21] = ':'
		put(22, 3, 0)
		return string(b[:])
	}
	t := d.Time
	_, off := t.Zone()
	if y := t.Year(); y < 0 {
		t = time.Date(0, 1, 1, 0, 0, 0, 0, t.Location())
	} else if y > 9999 {
		t = time.Date(9999, 12, 31, 23, 59, 59, 999999000, t.Location())
	}
	put(0, 4, int64(t.Year()))
	put(4, 2, int64(t.Month()))
	put(6, 2, int64(t.Day()))
	put(8, 2, int64(t.Hour()))
	put(10, 2, int64(t.Minute()))
	put(12, 2, int64(t.Second()))
	b[14] = '.'
	put(15, 6, int64(t.Nanosecond()/1000))
	minutes := off / 60
	b[21] = '+'
	if minutes < 0 {
		b[21] = '-'
		minutes = -minutes
	}
	put(22, 3, int64(minutes%1000))
	return string(b[:])
}

// Equal reports whether d and e denote the same instant or the same
// interval (microsecond precision, as in the text form).
func (d Datetime) Equal(e Datetime) bool {
	if d.Interval != e.Interval {
		return false
	}
	if d.Interval {
		return d.Duration/time.Microsecond == e.Duration/time.Microsecond
	}
	return d.Time.Truncate(time.Microsecond).Equal(e.Time.Truncate(time.Microsecond))
}

// MarshalText implements encoding.TextMarshaler with the CIM text form.
func (d Datetime) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDatetime.
func (d *Datetime) UnmarshalText(b []byte) error {
	v, err := ParseDatetime(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
