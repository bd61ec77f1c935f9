// Package xsd reads and writes the XML Schema simple types (XML Schema
// Part 2) that WS-Management and WS-CIM carry as text: xs:duration,
// xs:dateTime, xs:date and xs:time. It is the one implementation of their
// rules in vsmig, so that a value means the same wherever it appears: a
// wsman:OperationTimeout header (package wsman), an interval or timestamp
// in a WS-CIM instance of a Put (cim/wscim), an Invoke argument such as
// RequestStateChange's TimeoutPeriod (cim/wsbind).
//
// It lives under wsman because WS-Management defines where these values
// appear, and it knows neither the protocol nor CIM, so that both may
// import it without wsman learning about CIM. It imports only the
// standard library.
//
// Rules, where the schema leaves a choice or a Go type cannot follow it:
//
//   - A duration is a time.Duration: at most about 292 years (ErrRange),
//     nanosecond precision (further digits are cut), and years and months,
//     which have no fixed length, only when zero ("P0Y1D" is one day,
//     "P1M" is ErrCalendar).
//   - A negative duration ("-PT5S") is read as such; whether a negative
//     value makes sense is the caller's business. A sign anywhere else
//     ("PT-5S") is a syntax error.
//   - Fractions are allowed on seconds only, with digits on both sides of
//     the point ("PT0.5S", not "PT.5S" or "PT1.S").
//   - Leading and trailing white space is ignored (the types' whiteSpace
//     facet is collapse).
//   - A dateTime without a time zone is taken as UTC.
package xsd

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Errors of the parsers, wrapped with the text that failed. Callers test
// with errors.Is.
var (
	// ErrSyntax: the text is not in the type's lexical space.
	ErrSyntax = errors.New("xsd: syntax error")
	// ErrRange: a duration beyond what time.Duration holds.
	ErrRange = errors.New("xsd: duration out of range")
	// ErrCalendar: a duration with years or months, which have no fixed
	// length.
	ErrCalendar = errors.New("xsd: years and months have no fixed length")
)

// ParseDuration reads an xs:duration such as "PT60.000S", "P1DT2H" or
// "-PT5S" (see the package doc for the rules).
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an xs:duration of vsmig: %w", s, err)
	}
	return d, nil
}

// designators of xs:duration in their order; 'T' separates date and time.
const designators = "YMDTHMS"

func parseDuration(s string) (time.Duration, error) {
	neg := false
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		neg, s = true, rest
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, ErrSyntax
	}
	var total time.Duration
	pos := 0 // index in designators of the next allowed one
	inTime, any := false, false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || rest == "T" {
				return 0, ErrSyntax
			}
			inTime, pos, rest = true, 4, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, ErrSyntax
		}
		num, des := rest[:i], rest[i]
		rest = rest[i+1:]
		idx := strings.IndexByte(designators[pos:], des)
		if idx < 0 || des == 'T' {
			return 0, ErrSyntax
		}
		idx += pos
		if (idx < 3) == inTime { // a date designator after T, or the reverse
			return 0, ErrSyntax
		}
		pos = idx + 1
		any = true
		whole, frac, hasFrac := strings.Cut(num, ".")
		if whole == "" || hasFrac && (frac == "" || des != 'S') || strings.Contains(frac, ".") {
			return 0, ErrSyntax
		}
		switch idx {
		case 0, 1: // years, months
			if strings.Trim(whole, "0") != "" {
				return 0, ErrCalendar
			}
			continue
		}
		unit := map[int]time.Duration{2: 24 * time.Hour, 4: time.Hour, 5: time.Minute, 6: time.Second}[idx]
		add, err := scaled(whole, frac, unit)
		if err != nil {
			return 0, err
		}
		if total > math.MaxInt64-add {
			return 0, ErrRange
		}
		total += add
	}
	if !any {
		return 0, ErrSyntax
	}
	if neg {
		total = -total
	}
	return total, nil
}

// scaled returns whole.frac units, exactly to the nanosecond (further
// fraction digits are cut), or ErrRange.
func scaled(whole, frac string, unit time.Duration) (time.Duration, error) {
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 19 {
		return 0, ErrRange
	}
	var w uint64
	if whole != "" {
		var err error
		if w, err = strconv.ParseUint(whole, 10, 64); err != nil {
			return 0, ErrRange
		}
	}
	if w > uint64(math.MaxInt64/int64(unit)) {
		return 0, ErrRange
	}
	d := time.Duration(w) * unit
	if frac != "" { // seconds only
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if d > math.MaxInt64-time.Duration(ns) {
			return 0, ErrRange
		}
		d += time.Duration(ns)
	}
	return d, nil
}

// FormatDuration writes d as an xs:duration with days as the largest unit
// and no zero components: "P1DT2H3M4.5S", "PT0.25S", "-PT5S", and "PT0S"
// for zero.
func FormatDuration(d time.Duration) string {
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u // also right for math.MinInt64
	}
	b.WriteByte('P')
	const day = uint64(24 * time.Hour)
	if days := u / day; days > 0 {
		b.WriteString(strconv.FormatUint(days, 10) + "D")
		u %= day
	}
	if u == 0 {
		if b.Len() == len("P") || b.String() == "-P" {
			return "PT0S"
		}
		return b.String()
	}
	b.WriteByte('T')
	if h := u / uint64(time.Hour); h > 0 {
		b.WriteString(strconv.FormatUint(h, 10) + "H")
		u %= uint64(time.Hour)
	}
	if m := u / uint64(time.Minute); m > 0 {
		b.WriteString(strconv.FormatUint(m, 10) + "M")
		u %= uint64(time.Minute)
	}
	if u > 0 {
		b.WriteString(strconv.FormatUint(u/uint64(time.Second), 10))
		if ns := u % uint64(time.Second); ns > 0 {
			b.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

// dateTimeLayout writes xs:dateTime with microseconds, the precision of a
// CIM datetime, trailing zeros dropped.
const dateTimeLayout = "2006-01-02T15:04:05.999999Z07:00"

// FormatDateTime writes t as an xs:dateTime to the microsecond, with its
// zone ("2026-11-24T10:00:00.5Z").
func FormatDateTime(t time.Time) string { return t.Format(dateTimeLayout) }

// ParseDateTime reads an xs:dateTime; one without a time zone is taken as
// UTC.
func ParseDateTime(s string) (time.Time, error) {
	return parseLayouts(s, "xs:dateTime", time.RFC3339Nano, "2006-01-02T15:04:05.999999999")
}

// ParseDate reads an xs:date, with or without a time zone.
func ParseDate(s string) (time.Time, error) {
	return parseLayouts(s, "xs:date", "2006-01-02Z07:00", "2006-01-02")
}

// ParseTime reads an xs:time, with or without a time zone, as a time on
// 0000-01-01.
func ParseTime(s string) (time.Time, error) {
	return parseLayouts(s, "xs:time", "15:04:05.999999999Z07:00", "15:04:05.999999999")
}

func parseLayouts(s, typ string, layouts ...string) (time.Time, error) {
	t := strings.TrimSpace(s)
	for _, l := range layouts {
		if v, err := time.Parse(l, t); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an %s: %w", s, typ, ErrSyntax)
}
