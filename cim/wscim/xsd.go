package wscim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
)

// xsDateTimeLayout writes xs:dateTime with microseconds (the precision of
// a CIM datetime), trailing zeros dropped.
const xsDateTimeLayout = "2006-01-02T15:04:05.999999Z07:00"

// formatDateTime returns t as xs:dateTime.
func formatDateTime(t time.Time) string { return t.Format(xsDateTimeLayout) }

// parseDateTime parses xs:dateTime; a value without a zone is taken as UTC.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:dateTime", s)
}

// parseDate parses xs:date (cim:Date), optionally with a zone.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:date", s)
}

// parseTime parses xs:time (cim:Time) as a time on 0000-01-01.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"15:04:05.999999999Z07:00", "15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:time", s)
}

// formatDuration returns d as xs:duration with days as the largest unit
// (months and years have no fixed length): P1DT2H3M4.5S, PT0S for zero.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Microsecond)
	var b strings.Builder
	b.WriteByte('P')
	day := 24 * time.Hour
	if days := d / day; days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10))
		b.WriteByte('D')
		d -= days * day
	}
	if d == 0 {
		if b.Len() == 1 {
			return "PT0S"
		}
		return b.String()
	}
	b.WriteByte('T')
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10))
		b.WriteByte('H')
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10))
		b.WriteByte('M')
		d -= m * time.Minute
	}
	if d > 0 {
		sec := d / time.Second
		b.WriteString(strconv.FormatInt(int64(sec), 10))
		if frac := d - sec*time.Second; frac > 0 {
			f := fmt.Sprintf("%06d", frac/time.Microsecond)
			b.WriteByte('.')
			b.WriteString(strings.TrimRight(f, "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

var errDuration = errors.New("not a non-negative xs:duration")

// parseDuration parses xs:duration. Years and months are accepted only
// when zero, since CIM intervals have no calendar units; negative
// durations are rejected.
func parseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "P") || len(s) < 2 || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("%q is %w", orig, errDuration)
	}
	s = s[1:]
	var total time.Duration
	inTime := false
	seen := ""
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("%q is %w", orig, errDuration)
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("%q is %w", orig, errDuration)
		}
		num, unit := s[:i], s[i]
		s = s[i+1:]
		key := string(unit)
		if inTime {
			key = "T" + key
		}
		if strings.Contains(seen, key+",") {
			return 0, fmt.Errorf("%q is %w", orig, errDuration)
		}
		seen += key + ","
		var scale time.Duration
		switch key {
		case "Y", "M":
			if f, err := strconv.ParseFloat(num, 64); err != nil || f != 0 {
				return 0, fmt.Errorf("%q: years and months cannot be a CIM interval", orig)
			}
			continue
		case "D":
			scale = 24 * time.Hour
		case "TH":
			scale = time.Hour
		case "TM":
			scale = time.Minute
		case "TS":
			scale = time.Second
		default:
			return 0, fmt.Errorf("%q is %w", orig, errDuration)
		}
		if strings.Contains(num, ".") && key != "TS" {
			return 0, fmt.Errorf("%q is %w", orig, errDuration)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is %w", orig, errDuration)
		}
		add := f * float64(scale)
		if add > math.MaxInt64 || float64(total)+add > math.MaxInt64 {
			return 0, fmt.Errorf("%q: interval too long", orig)
		}
		if key == "TS" {
			// seconds: parse the fraction exactly to the microsecond
			whole, frac, _ := strings.Cut(num, ".")
			w, _ := strconv.ParseInt(whole, 10, 64)
			us := int64(0)
			if frac != "" {
				frac = (frac + "000000")[:6]
				us, _ = strconv.ParseInt(frac, 10, 64)
			}
			total += time.Duration(w)*time.Second + time.Duration(us)*time.Microsecond
		} else {
			total += time.Duration(add)
		}
		if total < 0 {
			return 0, fmt.Errorf("%q: interval too long", orig)
		}
	}
	return total, nil
}

// parseDatetimeText parses a datetime written as plain text: the CIM form
// first, then xs:dateTime, then xs:duration.
func parseDatetimeText(s string) (cim.Datetime, error) {
	s = strings.TrimSpace(s)
	if d, err := cim.ParseDatetime(s); err == nil {
		return d, nil
	}
	if t, err := parseDateTime(s); err == nil {
		return cim.Timestamp(t), nil
	}
	if d, err := parseDuration(s); err == nil {
		return cim.IntervalOf(d), nil
	}
	return cim.Datetime{}, fmt.Errorf("%q is neither a CIM datetime, an xs:dateTime nor an xs:duration", s)
}

// parseScalar converts element text to a value of type t.
func parseScalar(t cim.Type, s string) (any, error) {
	if t == cim.Real32 || t == cim.Real64 {
		switch strings.TrimSpace(s) {
		case "INF", "+INF":
			return math.Inf(1), nil
		case "-INF":
			return math.Inf(-1), nil
		case "NaN":
			return math.NaN(), nil
		}
	}
	if t == cim.DatetimeType {
		return parseDatetimeText(s)
	}
	return cim.ParseValue(t, s)
}

// formatScalar returns the element text of a scalar value: reals as
// xs:float/xs:double, whose infinities and NaN are INF, -INF and NaN.
func formatScalar(t cim.Type, v any) string {
	if f, ok := v.(float64); ok {
		switch {
		case math.IsInf(f, 1):
			return "INF"
		case math.IsInf(f, -1):
			return "-INF"
		case math.IsNaN(f):
			return "NaN"
		}
	}
	return xmlcim.ValueText(t, v)
}
