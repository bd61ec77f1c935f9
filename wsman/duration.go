package wsman

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

var errDuration = errors.New("wsman: invalid xs:duration")

// parseDuration parses an xs:duration (XML Schema Part 2 §3.2.6) such as
// "PT60.000S" or "P1DT2H". Years and months have no fixed length; they are
// taken as 365 and 30 days, which only matters for absurd timeouts that
// are capped anyway. A negative duration is returned as such.
func parseDuration(s string) (time.Duration, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	if len(s) < 2 || s[0] != 'P' {
		return 0, errDuration
	}
	s = s[1:]
	var total float64 // seconds
	inTime := false
	any := false
	pos := 0 // next allowed designator index in "YMDTHMS"
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, errDuration
			}
			inTime = true
			pos = 3
			s = s[1:]
			if s == "" {
				return 0, errDuration
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, errDuration
		}
		num, des := s[:i], s[i]
		s = s[i+1:]
		if strings.Contains(num, ".") && !(inTime && des == 'S') {
			return 0, errDuration
		}
		if num[0] == '.' || num[len(num)-1] == '.' {
			return 0, errDuration
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, errDuration
		}
		var unit float64
		var idx int
		switch {
		case !inTime && des == 'Y':
			unit, idx = 365*86400, 0
		case !inTime && des == 'M':
			unit, idx = 30*86400, 1
		case !inTime && des == 'D':
			unit, idx = 86400, 2
		case inTime && des == 'H':
			unit, idx = 3600, 4
		case inTime && des == 'M':
			unit, idx = 60, 5
		case inTime && des == 'S':
			unit, idx = 1, 6
		default:
			return 0, errDuration
		}
		if idx < pos {
			return 0, errDuration
		}
		pos = idx + 1
		any = true
		total += v * unit
	}
	if !any {
		return 0, errDuration
	}
	d := time.Duration(math.MaxInt64)
	if total*1e9 < float64(math.MaxInt64) {
		d = time.Duration(total * 1e9)
	}
	if neg {
		d = -d
	}
	return d, nil
}

// formatDuration writes d as an xs:duration in seconds ("PT60.000S"), the
// form Windows uses.
func formatDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "S"
}
