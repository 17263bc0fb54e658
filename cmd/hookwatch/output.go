package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// How the commands print: tables for people, one JSON object per line for
// scripts.

// printList prints the items of a list command: with --json (asJSON) one
// JSON object per line, each item as toJSON makes it (asIs: the item
// itself); otherwise a table under header, one row per item (row returns
// its tab-separated cells), and none on stderr when there is no item
// (none "": nothing is said).
func printList[T any](env *Env, asJSON bool, items []T, toJSON func(T) any, header string, row func(T) string, none string) error {
	if asJSON {
		return writeJSONLines(env.Stdout, items, toJSON)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, row(it))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(items) == 0 && none != "" {
		fmt.Fprintln(env.Stderr, none)
	}
	return nil
}

// asIs is printList's toJSON for items printed as they are.
func asIs[T any](x T) any { return x }

// writeJSONLines writes one JSON object per line, for scripts.
func writeJSONLines[T any](w io.Writer, items []T, conv func(T) any) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(conv(it)); err != nil {
			return err
		}
	}
	return nil
}

// localTime is how the CLI's tables print a time.
func localTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

// dash prints an empty cell as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
