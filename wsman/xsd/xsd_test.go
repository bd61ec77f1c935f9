package xsd

import (
	"errors"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const max = time.Duration(1<<63 - 1)
	tests := []struct {
		in   string
		want time.Duration
		err  error // nil: valid
	}{
		{"PT60.000S", time.Minute, nil},
		{"PT20S", 20 * time.Second, nil},
		{"PT0.5S", 500 * time.Millisecond, nil},
		{"PT0.000000001S", 1, nil},
		{"PT0.0000000019S", 1, nil}, // cut to the nanosecond
		{"P1DT2H3M4S", 26*time.Hour + 3*time.Minute + 4*time.Second, nil},
		{"P1DT2H3M4.000005S", 26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Microsecond, nil},
		{"PT1H", time.Hour, nil},
		{"PT59M", 59 * time.Minute, nil},
		{"P1D", 24 * time.Hour, nil},
		{"-PT5S", -5 * time.Second, nil},
		{"-P1D", -24 * time.Hour, nil},
		{"PT0S", 0, nil},
		{" PT1S\n", time.Second, nil},
		{"P0Y1D", 24 * time.Hour, nil},
		{"P0Y0M", 0, nil},
		{"P106751DT23H47M16.854775807S", max, nil},
		{"", 0, ErrSyntax},
		{"P", 0, ErrSyntax},
		{"PT", 0, ErrSyntax},
		{"-P", 0, ErrSyntax},
		{"P1DT", 0, ErrSyntax},
		{"60", 0, ErrSyntax},
		{"1D", 0, ErrSyntax},
		{"PT1.S", 0, ErrSyntax},
		{"PT.5S", 0, ErrSyntax},
		{"PT1.2.3S", 0, ErrSyntax},
		{"P1.5D", 0, ErrSyntax},
		{"PT5S3M", 0, ErrSyntax},
		{"PT1H1H", 0, ErrSyntax},
		{"P1D1D", 0, ErrSyntax},
		{"PTT1S", 0, ErrSyntax},
		{"PTS", 0, ErrSyntax},
		{"P1H", 0, ErrSyntax},
		{"PT1D", 0, ErrSyntax},
		{"P1T", 0, ErrSyntax},
		{"PT-5S", 0, ErrSyntax},
		{"P-1D", 0, ErrSyntax},
		{"--PT5S", 0, ErrSyntax},
		{"+PT5S", 0, ErrSyntax},
		{"pt5s", 0, ErrSyntax},
		{"2024-01-01T00:00:00Z", 0, ErrSyntax},
		{"P1Y", 0, ErrCalendar},
		{"P1M", 0, ErrCalendar},
		{"P0Y1M2D", 0, ErrCalendar},
		{"P99999999999999999999D", 0, ErrRange},
		{"P106751DT23H47M16.854775808S", 0, ErrRange},
		{"P106752D", 0, ErrRange},
		{"PT9223372036854775808S", 0, ErrRange},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "PT0S"},
		{time.Minute, "PT1M"},
		{24 * time.Hour, "P1D"},
		{26*time.Hour + 3*time.Minute + 4500*time.Millisecond, "P1DT2H3M4.5S"},
		{250 * time.Millisecond, "PT0.25S"},
		{5 * time.Microsecond, "PT0.000005S"},
		{-5 * time.Second, "-PT5S"},
		{-24 * time.Hour, "-P1D"},
		{time.Duration(1<<63 - 1), "P106751DT23H47M16.854775807S"},
		{time.Duration(-1 << 63), "-P106751DT23H47M16.854775808S"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.in == time.Duration(-1<<63) {
			continue // its magnitude is beyond ParseDuration's range
		}
		if back, err := ParseDuration(tt.want); err != nil || back != tt.in {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", tt.in, back, err)
		}
	}
}

func TestDateTime(t *testing.T) {
	utc := time.Date(2026, 11, 24, 10, 0, 0, 500000000, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-24T10:00:00.5Z", utc},
		{"2026-11-24T10:00:00.5", utc},
		{"2026-11-24T11:00:00.5+01:00", utc},
		{" 2026-11-24T10:00:00.500Z ", utc},
	} {
		got, err := ParseDateTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseDateTime(%q) = %v, %v", tt.in, got, err)
		}
	}
	for _, bad := range []string{"", "2026-11-24", "2026-11-24T10:00", "PT1S", "2026-13-01T00:00:00Z"} {
		if _, err := ParseDateTime(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseDateTime(%q) = %v, want ErrSyntax", bad, err)
		}
	}
	if got := FormatDateTime(utc.Add(123 * time.Nanosecond)); got != "2026-11-24T10:00:00.5Z" {
		t.Errorf("FormatDateTime = %q", got)
	}
	if d, err := ParseDate("2026-11-24+02:00"); err != nil || d.Day() != 24 {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	if tm, err := ParseTime("10:20:30.5Z"); err != nil || tm.Second() != 30 {
		t.Errorf("ParseTime = %v, %v", tm, err)
	}
}

// FuzzParseDuration: the parser never panics, and what it reads survives
// FormatDuration and a second parse unchanged.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT60.000S", "P1DT2H3M4.5S", "-PT5S", "P0Y1D", "P106751DT23H47M16.854775807S", "PT-5S", "P1Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("%q: %v formats as %q, which reads back as %v, %v", s, d, FormatDuration(d), back, err)
		}
	})
}
