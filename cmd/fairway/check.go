package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"fairway"
	"fairway/check"
	"fairway/runner"
)

// EvidenceCoverage is the kind of the evidence holding a suite run's
// coverage matrix as JSON.
const EvidenceCoverage = "coverage"

func init() {
	register(&command{
		name: "check run", summary: "Run a smoke/UAT check suite: each check recorded as command-result evidence, and its coverage matrix",
		args:    "SUITE --task KEY [--deploy RUN --stage smoke|uat]",
		example: `fairway check run smoke.yaml --task OPS-UAT-001 --deploy 1 --stage smoke --as codex`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "task the evidence is for (required)")
			deploy := fs.Int64("deploy", 0, "a deploy-run whose stage the suite's outcome moves")
			stage := fs.String("stage", "", "with --deploy: smoke or uat")
			return func(a *app, pos []string) error { return checkRun(a, pos, *task, *deploy, *stage) }
		},
	})
	register(&command{
		name: "check coverage", summary: "Print a task's UAT coverage matrix: each item proven by which evidence, failing, or not covered", args: "--task KEY",
		example: `fairway check coverage --task OPS-UAT-001 --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			task := fs.String("task", "", "the task (required)")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				if err := fairway.ValidateKey("task", *task); err != nil {
					return err
				}
				items, err := coverageOf(ctx, svc, *task)
				if err != nil {
					return err
				}
				return a.output(items, func(w io.Writer) { printCoverage(w, items) })
			}
		},
	})
}

func checkRun(a *app, pos []string, task string, deploy int64, stage string) error {
	if len(pos) != 1 {
		return usagef("want one SUITE file")
	}
	if err := fairway.ValidateKey("task", task); err != nil {
		return err
	}
	if (deploy != 0) != (stage != "") || stage != "" && stage != fairway.StageSmoke && stage != fairway.StageUAT {
		return usagef("--deploy RUN and --stage smoke|uat go together")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return usagef("cannot read the suite: %v", err)
	}
	suite, err := check.Load(pos[0], data)
	if err != nil {
		return &fairway.Error{Code: fairway.EINVALID, Field: "suite", Message: "the suite is refused:\n" + err.Error()}
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	// Refusals that would lose the records come before anything runs.
	if _, err := svc.Whoami(ctx); err != nil {
		return err
	}
	if _, err := svc.GetTask(ctx, task); err != nil {
		return err
	}
	if deploy != 0 {
		run, err := svc.GetDeployRun(ctx, deploy)
		if err != nil {
			return err
		}
		if run.Task != task {
			return fairway.FieldError("deploy", "deploy-run %d is of task %s, not %s", deploy, run.Task, task)
		}
	}
	m := check.Matrix{Suite: suite.Name, SuiteDigest: suite.Digest, Task: task, Deploy: deploy, Stage: stage}
	var ids []string
	allPassed := true
	for _, c := range suite.Checks {
		r, err := runCheck(ctx, svc, suite, c, task)
		if err != nil {
			return err
		}
		m.Results = append(m.Results, r)
		ids = append(ids, r.Evidence)
		allPassed = allPassed && r.Passed
		if !a.json {
			mark := "pass"
			if !r.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(a.stderr, "%s %-24s exit %-3d %s (%s)\n", mark, c.Name, r.ExitCode, r.Evidence, strings.Join(c.Covers, ", "))
		}
	}
	m.Items = check.Derive(suite, m.Results)
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	cov, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: task, Kind: EvidenceCoverage, Filename: "coverage.json", MediaType: "application/json",
		Note: "coverage of check suite " + suite.Name}, fairway.EvidenceParts{Content: bytes.NewReader(append(body, '\n'))})
	if err != nil {
		return err
	}
	var run *fairway.DeployRun
	if deploy != 0 {
		status := fairway.StagePassed
		if !allPassed {
			status = fairway.StageFailed
		}
		if run, err = svc.MoveStage(ctx, fairway.StageMove{Run: deploy, Stage: stage, Status: status, Evidence: append(ids, cov.ID),
			Note: "check suite " + suite.Name}); err != nil {
			return err
		}
	}
	out := struct {
		check.Matrix
		Coverage string             `json:"coverage_evidence"`
		Run      *fairway.DeployRun `json:"deploy_run,omitempty"`
	}{m, cov.ID, run}
	if err := a.output(out, func(w io.Writer) {
		printCoverage(w, m.Items)
		fmt.Fprintf(w, "coverage recorded as %s\n", cov.ID)
		if run != nil {
			fmt.Fprintf(w, "deploy-run %d stage %s: %s\n", run.ID, stage, run.Stage(stage).Status)
		}
	}); err != nil {
		return err
	}
	if !allPassed {
		return exitStatus{exitFailure}
	}
	return nil
}

// runCheck runs one check within its timeout and records it.
func runCheck(ctx context.Context, svc fairway.Service, s *check.Suite, c *check.Check, task string) (check.Result, error) {
	r := check.Result{Check: c.Name, Covers: c.Covers}
	runCtx, cancel := context.WithTimeout(ctx, c.TimeoutOf())
	defer cancel()
	res, err := runner.Run(runCtx, runner.Spec{Argv: c.Command, Stdin: strings.NewReader("")})
	if err != nil {
		return r, fmt.Errorf("check %s: %w", c.Name, err)
	}
	defer res.Close()
	e, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: task, Kind: fairway.EvidenceCommandResult, Filename: "command.log",
		MediaType: "text/plain; charset=utf-8", Note: fmt.Sprintf("check %s/%s covers %s", s.Name, c.Name, strings.Join(c.Covers, ", ")),
		Command: res.Command, Source: res.Source, Environment: res.Environment},
		fairway.EvidenceParts{Content: res.Log, Stdout: res.Stdout, Stderr: res.Stderr})
	if err != nil {
		return r, fmt.Errorf("check %s ran but its evidence was not recorded: %w", c.Name, err)
	}
	r.Evidence, r.ExitCode = e.ID, res.Command.ExitCode
	r.Passed = res.Command.ExitCode == 0 && !res.Command.Interrupted
	return r, nil
}

// coverageOf merges the coverage matrices recorded for a task, oldest
// first, so the newest run of each item decides.
func coverageOf(ctx context.Context, svc fairway.Service, task string) ([]check.Item, error) {
	list, err := svc.ListEvidence(ctx, fairway.EvidenceFilter{Task: task, Kind: EvidenceCoverage})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].RecordedAt.Before(list[j].RecordedAt) })
	var ms []check.Matrix
	for _, e := range list {
		rc, err := svc.OpenEvidence(ctx, e.ID, fairway.PartContent)
		if err != nil {
			return nil, err
		}
		var m check.Matrix
		err = json.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&m)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("coverage evidence %s is not a coverage matrix: %w", e.ID, err)
		}
		ms = append(ms, m)
	}
	return nonNilItems(check.Merge(ms)), nil
}

func nonNilItems(items []check.Item) []check.Item {
	if items == nil {
		return []check.Item{}
	}
	return items
}

func printCoverage(w io.Writer, items []check.Item) {
	if len(items) == 0 {
		fmt.Fprintln(w, "no coverage recorded; run a suite with `fairway check run SUITE --task KEY`")
		return
	}
	fmt.Fprintf(w, "%-28s %-12s %-16s %s\n", "ITEM", "STATE", "SUITE", "EVIDENCE")
	for _, it := range items {
		ev := joinOrDash(it.Proven)
		if it.State == check.Failing {
			ev = "failing: " + strings.Join(it.Failing, ", ")
		}
		fmt.Fprintf(w, "%-28s %-12s %-16s %s\n", oneLine(it.Item), it.State, oneLine(it.Suite), ev)
	}
}
