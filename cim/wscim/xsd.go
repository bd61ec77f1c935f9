package wscim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
	"github.com/vsmig/vsmig/wsman/xsd"
)

// The XML Schema simple types are read and written by package wsman/xsd,
// the one implementation vsmig has, so that an interval in a WS-CIM
// instance follows the same rules as a wsman:OperationTimeout or an
// Invoke argument.

// errNegativeInterval refuses a negative xs:duration as a CIM interval.
var errNegativeInterval = errors.New("a CIM interval cannot be negative")

// ParseInterval reads an xs:duration as a CIM interval: xsd.ParseDuration,
// and not negative (DSP0004 intervals have no sign).
func ParseInterval(s string) (time.Duration, error) {
	d, err := xsd.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: %w", s, errNegativeInterval)
	}
	return d, nil
}

// FormatDatetime writes d as WS-CIM writes a datetime: an interval as an
// xs:duration (a negative one, which CIM cannot hold, as zero), a
// timestamp as an xs:dateTime.
func FormatDatetime(d cim.Datetime) string {
	if d.Interval {
		return xsd.FormatDuration(max(d.Duration, 0))
	}
	return xsd.FormatDateTime(d.Time)
}

// ParseDatetime reads a datetime written as plain text: the CIM form
// first, then xs:dateTime (a timestamp), then xs:duration (an interval,
// see ParseInterval). cim/wsbind reads datetime Invoke arguments with it.
func ParseDatetime(s string) (cim.Datetime, error) {
	s = strings.TrimSpace(s)
	if d, err := cim.ParseDatetime(s); err == nil {
		return d, nil
	}
	if t, err := xsd.ParseDateTime(s); err == nil {
		return cim.Timestamp(t), nil
	}
	d, err := ParseInterval(s)
	if err == nil {
		return cim.IntervalOf(d), nil
	}
	if errors.Is(err, errNegativeInterval) || errors.Is(err, xsd.ErrRange) || errors.Is(err, xsd.ErrCalendar) {
		return cim.Datetime{}, err
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
		return ParseDatetime(s)
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
