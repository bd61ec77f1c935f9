package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printer writes command results: a table for people, JSON for scripts.
type printer interface {
	// Table prints rows under headers; records are the same data for JSON.
	Table(headers []string, rows [][]string, records any) error
	// Record prints one object: fields in order for people, v for JSON.
	Record(fields [][2]string, v any) error
}

type tablePrinter struct{ w io.Writer }

func (p tablePrinter) Table(headers []string, rows [][]string, _ any) error {
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func (p tablePrinter) Record(fields [][2]string, _ any) error {
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	for _, f := range fields {
		if f[0] == "" { // a further line of the field above
			fmt.Fprintf(tw, "\t%s\n", f[1])
			continue
		}
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

type jsonPrinter struct{ w io.Writer }

func (p jsonPrinter) Table(_ []string, _ [][]string, records any) error { return p.encode(records) }
func (p jsonPrinter) Record(_ [][2]string, v any) error                 { return p.encode(v) }

func (p jsonPrinter) encode(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
