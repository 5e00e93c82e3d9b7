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
	// failureCode, when not zero, is what Fairway exits with when the
	// command failed but was recorded, instead of the command's own code.
	failureCode int
}

// runResult is what `run --json` writes to stderr: the command's exit
// code and Fairway's outcome side by side, so a caller never mistakes
// one for the other.
type runResult struct {
	// Outcome is recorded, or not_recorded when the evidence could not be
	// written (Error says why).
	Outcome string `json:"outcome"`
	// CommandExitCode is the command's own exit code.
	CommandExitCode int `json:"command_exit_code"`
	// Exit is the code this process exits with.
	Exit     int               `json:"exit"`
	Evidence *fairway.Evidence `json:"evidence,omitempty"`
	Error    *fairway.Error    `json:"error,omitempty"`
}

// Codes --command-failure-code may use: above Fairway's own (0-7) and
// below the shell's (126 and up).
const minFailureCode, maxFailureCode = 8, 125

func init() {
	register(&command{
		name: "run", summary: "Run a command, stream its output, and record it as evidence", args: "--task KEY [--kind KIND] -- CMD [ARGS...]",
		example: `fairway run --task OPS-FIX-001 --as codex -- go test ./...
fairway run --task OPS-UAT-001 --kind smoke --tool go --tool node --as codex -- ./smoke.sh auth catalog
fairway run OPS-FIX-001 --json --command-failure-code 10 -- make test   # 10: recorded, the command failed`,
		more: printRunKinds,
		setup: func(fs *flag.FlagSet) runFunc {
			var o runOptions
			fs.StringVar(&o.task, "task", "", "task the evidence is for (or KEY as the first argument, before --)")
			fs.StringVar(&o.kind, "kind", fairway.EvidenceCommandResult, "evidence kind")
			fs.StringVar(&o.note, "note", "", "a line about what this run proves")
			o.tools = listVar(fs, "tool", "record the version of this `TOOL` (runs TOOL version or TOOL --version; repeatable)")
			fs.IntVar(&o.failureCode, "command-failure-code", 0, fmt.Sprintf("exit with this `CODE` (%d-%d) when the command failed and was recorded, instead of the command's own code, which can collide with Fairway's (3 = not found)", minFailureCode, maxFailureCode))
			return func(a *app, argv []string) error { return runCommand(a, argv, o) }
		},
	})
}

// exitStatus lets run end with the command's own exit code.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func runCommand(a *app, argv []string, o runOptions) error {
	var err error
	if o.task, argv, err = leadingTask(argv, o.task); err != nil {
		return err
	}
	if len(argv) == 0 {
		return usagef("want a command after --, e.g. fairway run --task KEY -- go test ./...")
	}
	if o.failureCode != 0 && (o.failureCode < minFailureCode || o.failureCode > maxFailureCode) {
		return usagef("--command-failure-code must be between %d and %d, above Fairway's own exit codes", minFailureCode, maxFailureCode)
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
	// and the task, which must have started if it is mutating (R5).
	if _, err := svc.Whoami(ctx); err != nil {
		return err
	}
	task, err := svc.GetTask(ctx, o.task)
	if err != nil {
		return err
	}
	if err := fairway.RunRefusal(task, o.kind, func() (*fairway.GateDecision, error) { return svc.ExplainGate(ctx, o.task) }); err != nil {
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
		if code == 0 {
			code = exitFailure
		}
		if a.json {
			fe := &fairway.Error{Code: fairway.ErrorCode(err), Message: "the command ran but its evidence was not recorded: " + fairway.ErrorMessage(err)}
			jsonEncoder(a.stderr).Encode(runResult{Outcome: "not_recorded", CommandExitCode: rec.ExitCode, Exit: code, Error: fe})
		} else {
			a.printError(fmt.Errorf("the command ran but its evidence was not recorded: %w", err))
		}
		return exitStatus{code}
	}
	if code != 0 && o.failureCode != 0 {
		code = o.failureCode
	}
	if a.json {
		jsonEncoder(a.stderr).Encode(runResult{Outcome: "recorded", CommandExitCode: rec.ExitCode, Exit: code, Evidence: e})
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
