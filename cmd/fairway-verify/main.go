// Command fairway-verify checks what a Fairway ledger published, trusting
// nothing of the ledger's: only a public verifier key. It imports no store
// code, so it can be built and audited on its own.
//
//	fairway-verify log EXPORT.jsonl --key KEY --checkpoint CP [--checkpoint CP ...]
//	fairway-verify proof PROOF.json --key KEY --checkpoint CP [--checkpoint NEWER]
//	fairway-verify packet DIR --key KEY
//	fairway-verify watch URL --key KEY --state FILE [--every 1m] [--once]
//
// It exits 0 when everything verifies, 1 when something does not (saying
// what), and 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// failure is a verification that did not pass: exit 1.
type failure struct{ msg string }

func (f failure) Error() string { return f.msg }

func failf(format string, args ...any) error { return failure{fmt.Sprintf(format, args...)} }

// usage is a command line that cannot run: exit 2.
type usage struct{ msg string }

func (u usage) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usage{fmt.Sprintf(format, args...)} }

type command struct {
	name, args, summary, example string
	run                          func(ctx context.Context, env *env, args []string) error
}

// env is what a command reads and writes, injected for tests.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = []*command{logCommand, proofCommand, packetCommand, watchCommand}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		help(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			var f failure
			var u usage
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				fmt.Fprintf(e.stdout, "fairway-verify %s: %s\nusage: fairway-verify %s %s\nexample: %s\n", c.name, c.summary, c.name, c.args, c.example)
				return 0
			case errors.As(err, &f):
				fmt.Fprintf(e.stderr, "fairway-verify %s: NOT VALID: %s\n", c.name, f.msg)
				return 1
			case errors.As(err, &u):
				fmt.Fprintf(e.stderr, "fairway-verify %s: %s\nusage: fairway-verify %s %s\nexample: %s\n", c.name, u.msg, c.name, c.args, c.example)
				return 2
			default:
				fmt.Fprintf(e.stderr, "fairway-verify %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(e.stderr, "fairway-verify: %q is not a command\n", args[0])
	help(e.stderr)
	return 2
}

func help(w io.Writer) {
	fmt.Fprintln(w, "fairway-verify checks a Fairway ledger's published log, proofs and evidence packets with only its public key.")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n          fairway-verify %s %s\n          e.g. %s\n", c.name, c.summary, c.name, c.args, c.example)
	}
	fmt.Fprintln(w, "\nexit status: 0 valid, 1 not valid (the message says what), 2 usage error")
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// parse parses flags given before, between or after the positional
// arguments, and wants exactly n of the latter.
func parse(fs *flag.FlagSet, args []string, n int, names string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		return nil, usagef("want %s, got %d argument(s)", names, len(pos))
	}
	return pos, nil
}
