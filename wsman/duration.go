package wsman

import (
	"errors"
	"math"
	"strings"
	"time"

	"github.com/vsmig/vsmig/wsman/xsd"
)

// operationTimeout reads the value of a wsman:OperationTimeout header
// (DSP0226 §6.1): an xs:duration read by package xsd's rules, which it
// shares with every other duration vsmig reads. ok is false for what is
// not a timeout, and the header then gets
// wsa:InvalidMessageInformationHeader: text that is no xs:duration
// ("PT-5S") and a negative duration ("-PT5S", "-P1D") alike, so that a
// client gets one answer for one mistake. A duration longer than
// time.Duration holds, or with years or months (no fixed length, but
// never shorter than 28 days), is longer than any cap the service
// applies and counts as the longest.
func operationTimeout(text string) (d time.Duration, ok bool) {
	d, err := xsd.ParseDuration(text)
	switch {
	case strings.HasPrefix(strings.TrimSpace(text), "-"):
		return 0, false
	case err == nil:
		return d, true
	case errors.Is(err, xsd.ErrRange), errors.Is(err, xsd.ErrCalendar):
		return math.MaxInt64, true
	}
	return 0, false
}
