package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
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
		name: "check run", summary: "Run a smoke/UAT check suite in parallel: each check recorded as evidence with its normalised output's digest, a JUnit report, and the coverage matrix",
		args: "SUITE --env ENV [--task KEY] [--deploy RUN --stage smoke|uat] [--parallel N] [--junit FILE]",
		example: `fairway check run smoke.yaml --task OPS-UAT-001 --env kind-local --junit smoke.xml --as codex
fairway check run uat.yaml --deploy 1 --stage uat --as codex   # the run's task and environment`,
		setup: func(fs *flag.FlagSet) runFunc {
			var o checkOptions
			fs.StringVar(&o.task, "task", "", "task the evidence is for (required unless --deploy names a run, whose task it is)")
			fs.StringVar(&o.env, "env", "", "the environment the checks run against, as the policy declares it; mutating checks run only where its prerequisites are met")
			fs.Int64Var(&o.deploy, "deploy", 0, "a deploy-run whose stage the suite's outcome moves (its environment is the default --env)")
			fs.StringVar(&o.stage, "stage", "", "with --deploy: smoke or uat")
			fs.IntVar(&o.parallel, "parallel", 8, "checks run at once")
			fs.StringVar(&o.junit, "junit", "", "also write the JUnit report to this file")
			return func(a *app, pos []string) error { return checkRun(a, pos, o) }
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

type checkOptions struct {
	task, env, stage, junit string
	deploy                  int64
	parallel                int
}

// EvidenceSuiteReport is the kind of a suite run's JUnit report.
const EvidenceSuiteReport = "uat-report"

// EvidenceProbe is the kind of one HTTP probe's record: a JUnit report of
// one test, so that the gate judges it as it judges any test report.
const EvidenceProbe = "smoke"

func checkRun(a *app, pos []string, o checkOptions) error {
	if len(pos) != 1 {
		return usagef("want one SUITE file")
	}
	if o.task == "" && o.deploy == 0 {
		return fairway.FieldError("task", "is required: name the task the evidence is for with --task KEY, or the deploy-run with --deploy RUN")
	}
	if o.task != "" {
		if err := fairway.ValidateKey("task", o.task); err != nil {
			return err
		}
	}
	if (o.deploy != 0) != (o.stage != "") || o.stage != "" && o.stage != fairway.StageSmoke && o.stage != fairway.StageUAT {
		return usagef("--deploy RUN and --stage smoke|uat go together")
	}
	if o.parallel < 1 || o.parallel > 256 {
		return fairway.FieldError("parallel", "%d is out of range: run 1 to 256 checks at once", o.parallel)
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
	if o.deploy != 0 {
		run, err := svc.GetDeployRun(ctx, o.deploy)
		if err != nil {
			return err
		}
		if o.task == "" {
			o.task = run.Task
		}
		if run.Task != o.task {
			return fairway.FieldError("deploy", "deploy-run %d is of task %s, not %s", o.deploy, run.Task, o.task)
		}
		if o.env != "" && o.env != run.Environment {
			return fairway.FieldError("env", "deploy-run %d is in %s, not %s", o.deploy, run.Environment, o.env)
		}
		o.env = run.Environment
	}
	if _, err := svc.GetTask(ctx, o.task); err != nil {
		return err
	}
	mutating := slices.ContainsFunc(suite.Checks, func(c *check.Check) bool { return c.Mutating })
	if mutating && o.env == "" {
		return fairway.FieldError("env", "is required: the suite has mutating checks, which run only in an environment whose prerequisites are met; name it with --env ENV")
	}
	// A mutating check where the environment's prerequisites are unmet is
	// refused, naming the blocker: fallback never loosens that (R5).
	var blockers []*fairway.Blocker
	if o.env != "" {
		st, err := svc.EnvironmentStatus(ctx, o.env, o.task)
		if err != nil {
			return err
		}
		blockers = st.Blockers
	}
	m := check.Matrix{Suite: suite.Name, SuiteDigest: suite.Digest, Task: o.task, Environment: o.env, Deploy: o.deploy, Stage: o.stage}
	prog := newProgress(a, len(suite.Checks))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	results, err := check.Execute(ctx, suite, o.parallel, func(cctx context.Context, c *check.Check) (check.Result, error) {
		if c.Mutating && len(blockers) > 0 {
			r := check.Result{Check: c.Name, Covers: c.Covers, ExitCode: -1}
			var names []string
			for _, b := range blockers {
				names = append(names, "prerequisite "+b.Prerequisite)
			}
			r.Refused = strings.Join(names, ", ")
			r.Failure = fmt.Sprintf("mutating check refused in %s: %s", o.env, blockers[0])
			return r, nil
		}
		return runCheck(ctx, cctx, svc, suite, c, o.task, a.getenv, client)
	}, prog.step)
	prog.done()
	if err != nil {
		return err
	}
	m.Results = results
	allPassed, refused := true, 0
	var ids []string
	for _, r := range results {
		if r.Refused != "" {
			refused++
			continue
		}
		ids = append(ids, r.Evidence)
		allPassed = allPassed && r.Passed
	}
	m.Items = check.Derive(suite, m.Results)
	junit := check.JUnit(suite, results)
	if o.junit != "" {
		if err := os.WriteFile(o.junit, junit, 0o644); err != nil {
			return fmt.Errorf("the checks are recorded, but the JUnit report was not written: %w", err)
		}
	}
	rep, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: o.task, Kind: EvidenceSuiteReport, Filename: suite.Name + ".junit.xml", MediaType: "application/xml",
		Note: fmt.Sprintf("JUnit report of check suite %s%s", suite.Name, inEnv(o.env))}, fairway.EvidenceParts{Content: bytes.NewReader(junit)})
	if err != nil {
		return err
	}
	m.Report = rep.ID
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	cov, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: o.task, Kind: EvidenceCoverage, Filename: "coverage.json", MediaType: "application/json",
		Note: "coverage of check suite " + suite.Name + inEnv(o.env)}, fairway.EvidenceParts{Content: bytes.NewReader(append(body, '\n'))})
	if err != nil {
		return err
	}
	var run *fairway.DeployRun
	if o.deploy != 0 && (refused == 0 || !allPassed) {
		status := fairway.StagePassed
		if !allPassed {
			status = fairway.StageFailed
		}
		if run, err = svc.MoveStage(ctx, fairway.StageMove{Run: o.deploy, Stage: o.stage, Status: status, Evidence: append(ids, rep.ID, cov.ID),
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
		for _, r := range results {
			mark := "pass"
			switch {
			case r.Refused != "":
				mark = "REFUSED"
			case !r.Passed:
				mark = "FAIL"
			}
			fmt.Fprintf(w, "%-7s %-28s %-12s %s", mark, oneLine(r.Check), orDash(r.Evidence), orDash(r.Digest))
			if r.Failure != "" {
				fmt.Fprintf(w, "  %s", oneLine(r.Failure))
			}
			fmt.Fprintln(w)
		}
		printCoverage(w, m.Items)
		fmt.Fprintf(w, "JUnit report recorded as %s, coverage as %s\n", rep.ID, cov.ID)
		if run != nil {
			fmt.Fprintf(w, "deploy-run %d stage %s: %s\n", run.ID, o.stage, run.Stage(o.stage).Status)
		} else if o.deploy != 0 {
			fmt.Fprintf(w, "deploy-run %d stage %s not moved: %d mutating checks were refused\n", o.deploy, o.stage, refused)
		}
	}); err != nil {
		return err
	}
	if !allPassed || refused > 0 {
		return exitStatus{exitFailure}
	}
	return nil
}

func inEnv(env string) string {
	if env == "" {
		return ""
	}
	return " in " + env
}

// progress shows a suite's run: on a terminal, one line rewritten as
// checks finish; elsewhere (and with --json) nothing, the report says it
// all.
type progress struct {
	w                    io.Writer
	total, passed, other int
}

func newProgress(a *app, total int) *progress {
	if a.json {
		return &progress{}
	}
	f, ok := a.stderr.(*os.File)
	if !ok {
		return &progress{}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	return &progress{w: f, total: total}
}

func (p *progress) step(done int, r check.Result) {
	if p.w == nil {
		return
	}
	if r.Passed {
		p.passed++
	} else {
		p.other++
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %d passed, %d not; last: %s", done, p.total, p.passed, p.other, oneLine(r.Check))
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// runCheck runs one check within cctx (its timeout) and records it with
// ctx, so a check that timed out is still recorded.
func runCheck(ctx, cctx context.Context, svc fairway.Service, s *check.Suite, c *check.Check, task string, getenv func(string) string, client *http.Client) (check.Result, error) {
	if c.HTTP != nil {
		r := s.RunProbe(cctx, client, c, getenv)
		e, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: task, Kind: EvidenceProbe, Filename: c.Name + ".xml", MediaType: "application/xml",
			Note: fmt.Sprintf("probe %s/%s %s %s covers %s; digest %s", s.Name, c.Name, c.HTTP.Method, c.HTTP.URL, strings.Join(c.Covers, ", "), r.Digest)},
			fairway.EvidenceParts{Content: bytes.NewReader(check.OneCase(s, r))})
		if err != nil {
			return r, fmt.Errorf("check %s ran but its evidence was not recorded: %w", c.Name, err)
		}
		r.Evidence = e.ID
		return r, nil
	}
	res, err := runner.Run(cctx, runner.Spec{Argv: c.Command, Stdin: strings.NewReader("")})
	if err != nil {
		return check.Result{Check: c.Name, Covers: c.Covers}, fmt.Errorf("check %s: %w", c.Name, err)
	}
	defer res.Close()
	// The digest is of stdout then stderr, each in its own order: the
	// interleaving of the two is timing, not behaviour.
	var output bytes.Buffer
	for _, f := range []*os.File{res.Stdout, res.Stderr} {
		if _, err := io.Copy(&output, io.LimitReader(f, check.MaxBody)); err != nil {
			return check.Result{}, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return check.Result{}, err
		}
	}
	r := s.Outcome(c, res.Command.ExitCode, res.Command.Interrupted, output.Bytes())
	e, err := svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: task, Kind: fairway.EvidenceCommandResult, Filename: "command.log",
		MediaType: "text/plain; charset=utf-8", Note: fmt.Sprintf("check %s/%s covers %s; digest %s", s.Name, c.Name, strings.Join(c.Covers, ", "), r.Digest),
		Command: res.Command, Source: res.Source, Environment: res.Environment},
		fairway.EvidenceParts{Content: res.Log, Stdout: res.Stdout, Stderr: res.Stderr})
	if err != nil {
		return r, fmt.Errorf("check %s ran but its evidence was not recorded: %w", c.Name, err)
	}
	r.Evidence = e.ID
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
		b, err := fairway.ReadEvidence(ctx, svc, e.ID, fairway.PartContent, 16<<20)
		if err != nil {
			return nil, err
		}
		var m check.Matrix
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
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
