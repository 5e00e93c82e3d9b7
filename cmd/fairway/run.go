package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"fairway"
	"fairway/runner"
)

// runOptions are the flags of `fairway run`.
type runOptions struct {
	task, kind, note string
	tools            *listFlag
}

func init() {
	register(&command{
		name: "run", summary: "Run a command, stream its output, and record it as evidence", args: "--task KEY [--kind KIND] -- CMD [ARGS...]",
		example: `fairway run --task OPS-FIX-001 --as codex -- go test ./...
fairway run --task OPS-UAT-001 --kind smoke --tool go --tool node --as codex -- ./smoke.sh auth catalog`,
		setup: func(fs *flag.FlagSet) runFunc {
			var o runOptions
			fs.StringVar(&o.task, "task", "", "task the evidence is for (required)")
			fs.StringVar(&o.kind, "kind", fairway.EvidenceCommandResult, "evidence kind")
			fs.StringVar(&o.note, "note", "", "a line about what this run proves")
			o.tools = listVar(fs, "tool", "record the version of this `TOOL` (runs TOOL version or TOOL --version; repeatable)")
			return func(a *app, argv []string) error { return runCommand(a, argv, o) }
		},
	})
}

// exitStatus lets run end with the command's own exit code.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func runCommand(a *app, argv []string, o runOptions) error {
	if len(argv) == 0 {
		return usagef("want a command after --, e.g. fairway run --task KEY -- go test ./...")
	}
	if err := fairway.ValidateKey("task", o.task); err != nil {
		return err
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return err
	}
	// The record must be written even when Ctrl-C ended the command.
	ctx = context.WithoutCancel(ctx)
	// Everything that would refuse the record is checked before the
	// command runs, so a refusal never costs a whole run: who is acting,
	// and the task.
	if _, err := svc.Whoami(ctx); err != nil {
		return err
	}
	if _, err := svc.GetTask(ctx, o.task); err != nil {
		return err
	}

	// Ctrl-C and SIGTERM go to the command; Fairway waits for it to end
	// and records what it wrote.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	res, err := runner.Run(ctx, runner.Spec{Argv: argv, Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, Signals: sigs, Tools: o.tools.vals})
	if err != nil {
		return err
	}
	defer res.Close()
	rec, code := res.Command, res.ExitCode()
	e, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{
		Task: o.task, Kind: o.kind, Filename: "command.log", MediaType: "text/plain; charset=utf-8",
		Note: o.note, Command: rec, Source: res.Source, Environment: res.Environment,
	}, fairway.EvidenceParts{Content: res.Log, Stdout: res.Stdout, Stderr: res.Stderr})
	if err != nil {
		a.printError(fmt.Errorf("the command ran but its evidence was not recorded: %w", err))
		if code == 0 {
			code = exitFailure
		}
		return exitStatus{code}
	}
	if a.json {
		jsonEncoder(a.stderr).Encode(e)
	} else {
		note := ""
		if e.Scan.Redacted {
			note = fmt.Sprintf("; %d secret(s) redacted from the record", len(e.Scan.Findings))
		}
		if rec.Interrupted {
			note += "; interrupted by " + rec.Signal
		}
		fmt.Fprintf(a.stderr, "fairway: recorded %s for %s (exit %d, %s%s)\n", e.ID, o.task, rec.ExitCode, rec.Ended.Sub(rec.Started).Round(time.Millisecond), note)
	}
	if code != 0 {
		return exitStatus{code}
	}
	return nil
}
