package main

import (
	"flag"
	"fmt"
	"io"

	"fairway"

	"fairway/prime"
)

func init() {
	register(&command{
		name: "prime", summary: "What an agent needs at session start: who it is, its session and handoff, its work, the rules, the evidence kinds, the loop", args: "",
		example: `fairway prime --as codex          # read this first, and again after your context was compacted
fairway prime --as codex --json`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			b, err := prime.Build(ctx, svc, prime.CLI)
			if err != nil {
				return err
			}
			return a.output(b, func(w io.Writer) { prime.Write(w, b) })
		}),
	})
	register(&command{
		name: "task take", summary: "Start an open task as yours: become its owner if it has none and move it to in_progress, atomically", args: "KEY (or --task KEY)",
		example: `fairway next --mine --as codex      # what is yours and ready
fairway task take OPS-FIX-001 --as codex`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task (instead of the positional KEY)")
			return func(a *app, pos []string) error {
				key, err := taskArg(pos, *task, 0)
				if err != nil {
					return err
				}
				svc, ctx, err := a.connect()
				if err != nil {
					return err
				}
				t, err := svc.TakeTask(ctx, key)
				if err != nil {
					return err
				}
				return a.output(t, func(w io.Writer) { fmt.Fprintf(w, "%s is %s, owned by %s\n", t.Key, statusText(t), t.Owner) })
			}
		},
	})
}

// withTask is the setup of a command that names one task and nothing
// else: KEY or --task KEY.
func withTask(run func(a *app, key string) error) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		task := fs.String("task", "", "the task (or KEY as the argument)")
		return func(a *app, pos []string) error {
			key, err := taskArg(pos, *task, 0)
			if err != nil {
				return err
			}
			return run(a, key)
		}
	}
}

// leadingTask is taskArg for commands whose other arguments vary in
// number (files, a command, a text): without --task the first positional
// argument is the KEY.
func leadingTask(pos []string, flagValue string) (string, []string, error) {
	if flagValue != "" {
		return flagValue, pos, nil
	}
	if len(pos) == 0 || fairway.ValidateKey("task", pos[0]) != nil {
		return "", nil, usagef("want the task: KEY first, or --task KEY")
	}
	return pos[0], pos[1:], nil
}

// taskArg is the one convention for naming a task: the positional KEY at
// index i, or --task KEY, not both and not neither. The positional
// arguments after it stay the command's.
func taskArg(pos []string, flagValue string, i int) (string, error) {
	switch {
	case flagValue != "" && len(pos) > i:
		return "", usagef("give the task once: as KEY or as --task KEY, not both")
	case flagValue != "":
		if len(pos) != i {
			return "", usagef("want %d argument(s) besides --task, got %d", i, len(pos))
		}
		return flagValue, nil
	case len(pos) == i+1:
		return pos[i], nil
	case len(pos) <= i:
		return "", usagef("want the task: KEY or --task KEY")
	}
	return "", usagef("want one task KEY, got %d arguments", len(pos)-i)
}
