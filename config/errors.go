package config

import (
	"fmt"
	"strings"
)

// Error is one problem found in a config file, located by file, line and
// column (1-based; 0 when unknown) and by the dotted key path of the value,
// e.g. "workers[0].realms[1].name".
type Error struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

// Error formats the problem as "FILE:LINE:COL: PATH: MSG", leaving out the
// parts that are unknown.
func (e Error) Error() string { return format(e.File, e.Line, e.Col, e.Path, e.Msg) }

// Errors is every problem found in one config, in file order. Load, Parse and
// Listeners return it (as error) when there is at least one problem; use
// errors.As to get at the individual entries.
type Errors []Error

// Error joins the problems with newlines.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Warning is a part of the config that is accepted but not honoured (for
// example a Crossbar option Tollgate does not implement). Warnings never stop
// the router from starting; `tollgate check` and `tollgate start` print them.
type Warning struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

// String formats the warning like Error.Error.
func (w Warning) String() string { return format(w.File, w.Line, w.Col, w.Path, w.Msg) }

func format(file string, line, col int, path, msg string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		b.WriteByte(':')
	}
	if line > 0 {
		fmt.Fprintf(&b, "%d:", line)
		if col > 0 {
			fmt.Fprintf(&b, "%d:", col)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if path != "" {
		b.WriteString(path)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}
