package main

import (
	"flag"
	"strconv"
	"strings"
)

// listFlag collects a repeatable flag; each use may also hold a
// comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

func listVar(fs *flag.FlagSet, name, usage string) { fs.Var(&listFlag{}, name, usage) }

func getList(fs *flag.FlagSet, name string) []string {
	return []string(*fs.Lookup(name).Value.(*listFlag))
}

func getString(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

func getInt(fs *flag.FlagSet, name string) int {
	n, _ := strconv.Atoi(fs.Lookup(name).Value.String())
	return n
}

func getBool(fs *flag.FlagSet, name string) bool { return fs.Lookup(name).Value.String() == "true" }

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// given returns a pointer to the flag's value when the flag was given on
// the command line, and nil otherwise: the shape of partial updates.
func given[T any](fs *flag.FlagSet, name string, get func(*flag.FlagSet, string) T) *T {
	if !isSet(fs, name) {
		return nil
	}
	v := get(fs, name)
	return &v
}
