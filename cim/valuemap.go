package cim

import (
	"strconv"
	"strings"
)

// ValueMapEntry returns the Values text for the integer v of a property,
// parameter or method return value whose ValueMap and Values qualifiers
// are valueMap and values (DSP0004 §5.6.3.55): an exact entry first, then
// a range entry ("4097..32767", "0x8000..", "..32767"), then a bare ".."
// (which covers every value not mapped elsewhere, usually "DMTF
// Reserved"). ok is false when v is not in the map; when values is
// shorter than valueMap, the text is the ValueMap entry itself.
func ValueMapEntry(valueMap, values []string, v uint64) (text string, ok bool) {
	at := func(i int) string {
		if i < len(values) {
			return values[i]
		}
		return valueMap[i]
	}
	dots := -1
	for i, e := range valueMap {
		e = strings.TrimSpace(e)
		if n, err := parseMapNumber(e); err == nil && n == v {
			return at(i), true
		}
	}
	for i, e := range valueMap {
		e = strings.TrimSpace(e)
		lo, hi, found := strings.Cut(e, "..")
		if !found {
			continue
		}
		if lo == "" && hi == "" {
			dots = i
			continue
		}
		from, to := uint64(0), uint64(1<<64-1)
		var err error
		if lo != "" {
			if from, err = parseMapNumber(lo); err != nil {
				continue
			}
		}
		if hi != "" {
			if to, err = parseMapNumber(hi); err != nil {
				continue
			}
		}
		if v >= from && v <= to {
			return at(i), true
		}
	}
	if dots >= 0 {
		return at(dots), true
	}
	return "", false
}

// parseMapNumber parses a ValueMap number: decimal, or hex with 0x.
func parseMapNumber(s string) (uint64, error) {
	s = strings.TrimPrefix(s, "+")
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return strconv.ParseUint(s[2:], 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}
