package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"fairway"
	"fairway/check"
	"fairway/policy"
)

func init() {
	register(&command{
		name: "uat matrix", summary: "Print coverage area × environment across tasks: each area's latest result and its evidence, or the blocker that stops it",
		args: "[--env ENV]",
		example: `fairway uat matrix
fairway uat matrix --env kind-local --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			env := fs.String("env", "", "only this environment")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				m, err := uatMatrix(ctx, svc, *env)
				if err != nil {
					return err
				}
				return a.output(m, func(w io.Writer) { printUATMatrix(w, m) })
			}
		},
	})
}

// uatMatrix reads every recorded coverage matrix, oldest first, and the
// blockers of each environment the policy declares.
func uatMatrix(ctx context.Context, svc fairway.Service, only string) (*check.UATMatrix, error) {
	rec, err := svc.ActivePolicy(ctx)
	if err != nil {
		return nil, err
	}
	p, err := policy.Load(rec.File, []byte(rec.Source))
	if err != nil {
		return nil, fmt.Errorf("the policy in force did not load: %w", err)
	}
	var envs []string
	for name := range p.Environments {
		envs = append(envs, name)
	}
	// kind, dev, staging, production; by name within a class.
	sort.Slice(envs, func(i, j int) bool {
		ci, cj := slices.Index(policy.EnvironmentClasses, p.Environments[envs[i]].Class), slices.Index(policy.EnvironmentClasses, p.Environments[envs[j]].Class)
		if ci != cj {
			return ci < cj
		}
		return envs[i] < envs[j]
	})
	if only != "" {
		if p.Environments[only] == nil {
			return nil, fairway.FieldError("env", "environment %q is not declared by the policy in force; declared: %s", only, strings.Join(envs, ", "))
		}
		envs = []string{only}
	}
	blockers := map[string][]string{}
	for _, env := range envs {
		st, err := svc.EnvironmentStatus(ctx, env, "")
		if err != nil {
			return nil, err
		}
		for _, b := range st.Blockers {
			blockers[env] = append(blockers[env], "prerequisite "+b.Prerequisite)
		}
	}
	list, err := svc.ListEvidence(ctx, fairway.EvidenceFilter{Kind: EvidenceCoverage})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].RecordedAt.Before(list[j].RecordedAt) })
	var recorded []check.Recorded
	runs := map[int64]string{}
	for _, e := range list {
		b, err := fairway.ReadEvidence(ctx, svc, e.ID, fairway.PartContent, 16<<20)
		if err != nil {
			return nil, err
		}
		var m check.Matrix
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
			return nil, fmt.Errorf("coverage evidence %s is not a coverage matrix: %w", e.ID, err)
		}
		// A matrix recorded before runs named their environment takes its
		// deploy-run's.
		if m.Environment == "" && m.Deploy != 0 {
			if _, ok := runs[m.Deploy]; !ok {
				if r, err := svc.GetDeployRun(ctx, m.Deploy); err == nil {
					runs[m.Deploy] = r.Environment
				}
			}
			m.Environment = runs[m.Deploy]
		}
		if only != "" && m.Environment != only {
			continue
		}
		recorded = append(recorded, check.Recorded{Matrix: m, Evidence: e.ID})
	}
	return check.Across(recorded, envs, blockers), nil
}

func printUATMatrix(w io.Writer, m *check.UATMatrix) {
	if len(m.Areas) == 0 {
		fmt.Fprintf(w, "no coverage recorded in %s; run a suite with `fairway check run SUITE --task KEY --env ENV`\n", joinOrDash(m.Environments))
		return
	}
	for _, row := range m.Areas {
		fmt.Fprintln(w, oneLine(row.Area))
		for _, env := range m.Environments {
			c := row.Cells[env]
			fmt.Fprintf(w, "  %-14s %-12s", oneLine(env), c.State)
			switch c.State {
			case check.Proven, check.Failing:
				fmt.Fprintf(w, " %s (%s, suite %s)", strings.Join(c.Evidence, ", "), c.Task, oneLine(c.Suite))
			case check.Blocked:
				fmt.Fprintf(w, " by %s", strings.Join(c.Blockers, ", "))
			default:
				if len(c.Blockers) > 0 {
					fmt.Fprintf(w, " (mutating checks would meet %s)", strings.Join(c.Blockers, ", "))
				}
			}
			fmt.Fprintln(w)
		}
	}
}
