package main

import (
	"flag"
	"strconv"
	"strings"
)

// Every flag is bound to a typed variable where the command defines it,
// so the body reads a Go variable, never a flag by name: a mistyped flag
// is a compile error, not a panic in front of a user.

// listFlag collects a repeatable flag; each use may also hold a
// comma-separated list.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.vals, ",")
}

func (l *listFlag) Set(v string) error {
	l.set = true
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			l.vals = append(l.vals, part)
		}
	}
	return nil
}

func listVar(fs *flag.FlagSet, name, usage string) *listFlag {
	l := &listFlag{}
	fs.Var(l, name, usage)
	return l
}

// optional is a flag that knows whether it was given: the shape of
// partial updates, where an absent flag leaves a field alone.
type optional[T any] struct {
	v      T
	set    bool
	parse  func(string) (T, error)
	format func(T) string
	isBool bool
	kind   string
}

func (o *optional[T]) typeName() string { return o.kind }

func (o *optional[T]) Set(s string) error {
	v, err := o.parse(s)
	if err != nil {
		return err
	}
	o.v, o.set = v, true
	return nil
}

func (o *optional[T]) String() string {
	if o == nil || o.format == nil {
		return ""
	}
	return o.format(o.v)
}

// IsBoolFlag lets a boolean optional be given without a value.
func (o *optional[T]) IsBoolFlag() bool { return o.isBool }

// value is the flag's value, given or default.
func (o *optional[T]) value() T { return o.v }

// given returns the value when the flag was given, and nil otherwise.
func (o *optional[T]) given() *T {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}

func optString(fs *flag.FlagSet, name, usage string) *optional[string] {
	o := &optional[string]{parse: func(s string) (string, error) { return s, nil }, format: func(s string) string { return s }, kind: "string"}
	fs.Var(o, name, usage)
	return o
}

func optInt(fs *flag.FlagSet, name string, def int, usage string) *optional[int] {
	o := &optional[int]{v: def, parse: func(s string) (int, error) {
		n, err := strconv.ParseInt(s, 0, strconv.IntSize)
		if err != nil {
			return 0, errParse
		}
		return int(n), nil
	}, format: strconv.Itoa, kind: "int"}
	fs.Var(o, name, usage)
	return o
}

func optBool(fs *flag.FlagSet, name, usage string) *optional[bool] {
	o := &optional[bool]{parse: func(s string) (bool, error) {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, errParse
		}
		return b, nil
	}, format: strconv.FormatBool, isBool: true}
	fs.Var(o, name, usage)
	return o
}

// errParse makes the flag package report "invalid value" as it does for
// its own types.
var errParse = strconv.ErrSyntax

// isZeroDefault reports whether a flag's default is its type's zero value,
// which help does not repeat.
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return true
	}
	return false
}
