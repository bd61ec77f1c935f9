package cim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
)

func TestParseDatetime(t *testing.T) {
	est := time.FixedZone("", -300*60)
	tests := []struct {
		in   string
		want cim.Datetime
	}{
		{"20260124103000.123456+000", cim.Timestamp(time.Date(2026, 1, 24, 10, 30, 0, 123456000, time.UTC))},
		{"20260124103000.000000-300", cim.Timestamp(time.Date(2026, 1, 24, 10, 30, 0, 0, est))},
		{"19991231235959.999999+060", cim.Timestamp(time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.FixedZone("", 3600)))},
		{"00000000000500.000000:000", cim.IntervalOf(5 * time.Minute)},
		{"00000001020304.000005:000", cim.IntervalOf(26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Microsecond)},
		{"00000000000000.000000:000", cim.IntervalOf(0)},
	}
	for _, tt := range tests {
		got, err := cim.ParseDatetime(tt.in)
		if err != nil {
			t.Errorf("ParseDatetime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Interval != tt.want.Interval {
			t.Errorf("ParseDatetime(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("ParseDatetime(%q).String() = %q", tt.in, s)
		}
	}
}

func TestParseDatetimeErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"2026012410300.123456+000",   // short
		"20260124103000.123456+0000", // long
		"2026012410300*.123456+000",  // wildcard
		"20261324103000.000000+000",  // month 13
		"20260230103000.000000+000",  // Feb 30
		"20260124253000.000000+000",  // hour 25
		"20260124103000,000000+000",  // no dot
		"20260124103000.000000x000",  // bad sign
		"00000000240000.000000:000",  // interval hours 24
		"00000000000000.000000:001",  // interval suffix
		"9999999900000.0000000:000",  // misplaced dot
		"99999999000000.000000:000",  // longer than time.Duration
		"2026012410300a.000000+000",  // letter
	} {
		if d, err := cim.ParseDatetime(in); err == nil {
			t.Errorf("ParseDatetime(%q) = %v, want error", in, d)
		}
	}
}

func TestDatetimeString(t *testing.T) {
	tests := []struct {
		d    cim.Datetime
		want string
	}{
		{cim.Timestamp(time.Date(2026, 11, 24, 10, 52, 4, 1500, time.UTC)), "20261124105204.000001+000"},
		{cim.Timestamp(time.Date(2026, 11, 24, 10, 52, 4, 0, time.FixedZone("", -90*60))), "20261124105204.000000-090"},
		{cim.IntervalOf(-time.Second), "00000000000000.000000:000"},
		{cim.IntervalOf(1500 * time.Millisecond), "00000000000001.500000:000"},
		{cim.IntervalOf(100*24*time.Hour + time.Hour), "00000100010000.000000:000"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
		}
		if len(tt.want) != 25 || strings.Count(tt.want, ".") != 1 {
			t.Fatalf("bad test %q", tt.want)
		}
	}
	var d cim.Datetime
	if err := d.UnmarshalText([]byte("00000000000500.000000:000")); err != nil || d.Duration != 5*time.Minute {
		t.Errorf("UnmarshalText = %v, %v", d, err)
	}
}

func FuzzParseDatetime(f *testing.F) {
	for _, s := range []string{"20260124103000.123456+000", "00000000000500.000000:000", "20260124103000.000000-300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cim.ParseDatetime(s)
		if err != nil {
			return
		}
		back, err := cim.ParseDatetime(d.String())
		if err != nil || !back.Equal(d) {
			t.Fatalf("%q -> %q -> %v, %v", s, d.String(), back, err)
		}
	})
}
