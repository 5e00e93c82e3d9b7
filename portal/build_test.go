package portal_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/ledger"
	"fairway/portal"
)

func TestBuild_CurrentOnlyWithChecksAndBuildEvidenceForTheCleanCommit(t *testing.T) {
	_, l, _ := demoPortal(t)
	p := portal.New(l, ledger.TokenAuth{L: l}, nil, nil)
	clean := &fairway.SourceState{Commit: "0123456789abcdef0123456789abcdef01234567", Branch: "main"}
	dirty := &fairway.SourceState{Commit: clean.Commit, Dirty: true}
	ctx := as("priya")
	cases := []struct {
		name   string
		source *fairway.SourceState
		task   string
		state  string
		reason string
	}{
		{"not a git tree", nil, "", "in-progress", "not built from a git commit"},
		{"uncommitted changes", dirty, "DOCS-PORTAL-001", "in-progress", "uncommitted changes"},
		{"no build evidence yet", clean, "", "in-progress", "no build evidence for commit " + clean.Commit},
		{"the build records its evidence", clean, "DOCS-PORTAL-001", "current", "build evidence exists for commit " + clean.Commit},
		{"a rebuild of the same commit", clean, "", "current", "build evidence exists"},
		{"another commit", &fairway.SourceState{Commit: "fedcba9876543210fedcba9876543210fedcba98"}, "", "in-progress", "no build evidence"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			rep, err := p.Build(ctx, portal.BuildOptions{Out: out, Source: tc.source, Task: tc.task})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) > 0 {
				t.Fatalf("source checks: %v", rep.Problems)
			}
			if rep.Badge.State != tc.state || !strings.Contains(rep.Badge.Reason, tc.reason) {
				t.Fatalf("badge = %+v, want %s because %q", rep.Badge, tc.state, tc.reason)
			}
			index, err := os.ReadFile(filepath.Join(out, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(index), `badge-`+tc.state+`"`) || strings.Contains(string(index), "BADGE-STATE-MARK") {
				t.Fatalf("index.html does not carry the %s badge", tc.state)
			}
			task, err := os.ReadFile(filepath.Join(out, "tasks", "OPS-SAFE-001.html"))
			if err != nil {
				t.Fatal(err)
			}
			for _, banned := range []string{"<form", "csrf", `href="/`} {
				if strings.Contains(string(task), banned) {
					t.Fatalf("a static task page holds %q", banned)
				}
			}
			if !strings.Contains(string(task), `href="../evidence/EV-`) || !strings.Contains(string(task), "12 checks, 12 passed") {
				t.Fatal("the static task page does not show and link its evidence")
			}
		})
	}
	// The build that made the site current is evidence on the portal task,
	// and that evidence satisfies the portal-current prerequisite.
	evs, _ := l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "DOCS-PORTAL-001", Kind: fairway.EvidenceCommandResult})
	if len(evs) != 2 || evs[0].Command.ExitCode != 0 {
		t.Fatalf("build evidence on DOCS-PORTAL-001 = %d records", len(evs))
	}
	g, _ := l.ExplainGate(context.Background(), "DOCS-PORTAL-001")
	for _, r := range g.Requirements {
		if r.ID == "prerequisite:portal-current" && r.State != fairway.ReqSatisfied {
			t.Fatalf("portal-current after a recorded build: %+v", r)
		}
	}
}

func TestBuild_RefusesNoFolder(t *testing.T) {
	_, l, _ := demoPortal(t)
	_, err := portal.New(l, nil, nil, nil).Build(context.Background(), portal.BuildOptions{})
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "out") {
		t.Fatalf("err = %v, want invalid naming out", err)
	}
}
