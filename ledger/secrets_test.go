package ledger_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
)

// A made-up token of a format the scanner knows (GitHub's).
const fakeToken = "ghp_1234567890abcdefghijABCDEFGHIJ123456"

// Free text reaches an audit log that can never be edited: a secret in
// any text field is refused with the field and rule named, and nothing
// is written (R7).
func TestSecrets_FreeTextIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	cases := []struct {
		name, field string
		call        func() error
	}{
		{"task title", "title", func() error {
			return ignore(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "S-1", Title: "use " + fakeToken}))
		}},
		{"scope text", "scope.text", func() error {
			return ignore(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "S-1", Title: "t", Scope: fairway.Scope{Text: "token " + fakeToken}}))
		}},
		{"scope text update", "scope_text", func() error {
			return ignore(l.UpdateTask(as("alice"), "OPS-FIX-001", fairway.TaskUpdate{ScopeText: ptr("token=" + fakeToken)}))
		}},
		{"claim", "text", func() error {
			return ignore(l.AddClaim(as("codex"), fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "logged in with " + fakeToken}))
		}},
		{"transition note", "note", func() error {
			return ignore(l.TransitionTask(as("codex"), "OPS-FIX-001", fairway.Transition{Status: fairway.StatusInProgress, Note: fakeToken}))
		}},
		{"cancel reason", "reason", func() error { return ignore(l.CancelTask(as("alice"), "OPS-FIX-001", "leaked "+fakeToken)) }},
		{"waiver reason", "reason", func() error {
			return ignore(l.RequestWaiver(as("alice"), fairway.WaiverRequest{Task: "OPS-FIX-002", Requirement: "dependency:OPS-FIX-001",
				Reason: fakeToken, ExpiresAt: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}))
		}},
		{"review item", "items", func() error {
			return ignore(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-001", Domain: "ops", Verdict: fairway.VerdictChangesRequested, Items: []string{"rotate " + fakeToken}}))
		}},
		{"lane description", "description", func() error {
			return ignore(l.CreateLane(as("alice"), fairway.LaneCreate{Name: "l2", Description: fakeToken}))
		}},
		{"evidence note", "note", func() error {
			return ignore(l.AddEvidence(as("alice"), fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "log", Note: fakeToken}, fairway.EvidenceParts{Content: strings.NewReader("ok\n")}))
		}},
	}
	for _, c := range cases {
		before := auditLen(t, l)
		err := c.call()
		var fe *fairway.Error
		if err == nil || !asError(err, &fe) || fe.Code != fairway.EINVALID || fe.Field != c.field || !strings.Contains(fe.Message, "rule github-token") {
			t.Errorf("%s: %v, want invalid %s naming the rule", c.name, err, c.field)
			continue
		}
		if strings.Contains(err.Error(), fakeToken) {
			t.Errorf("%s: the refusal repeats the secret", c.name)
		}
		if after := auditLen(t, l); after != before {
			t.Errorf("%s: %d events written", c.name, after-before)
		}
	}
}

// The text of an evidence record beside its argv is kept as sent, in the
// record and its audit event: a secret in the working dir, the signal, the
// source branch or commit, the media type or the environment's host, tools
// and fingerprint is refused naming the field, and nothing is written (R7).
// Only argv and environment values are redacted instead.
func TestSecrets_EvidenceRecordTextIsRefused(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	env := func(e fairway.Environment) *fairway.Environment { e.OS = "linux"; return &e }
	cases := []struct {
		field string
		add   fairway.EvidenceAdd
	}{
		{"media_type", fairway.EvidenceAdd{MediaType: "text/" + fakeToken}},
		{"command.dir", fairway.EvidenceAdd{Kind: "command-result", Command: &fairway.Command{Argv: []string{"true"}, Dir: "/src/" + fakeToken}}},
		{"command.signal", fairway.EvidenceAdd{Kind: "command-result", Command: &fairway.Command{Argv: []string{"true"}, Signal: fakeToken}}},
		{"source.branch", fairway.EvidenceAdd{Source: &fairway.SourceState{Commit: "abc", Branch: "fix/" + fakeToken}}},
		{"source.commit", fairway.EvidenceAdd{Source: &fairway.SourceState{Commit: fakeToken}}},
		{"environment.host", fairway.EvidenceAdd{Environment: env(fairway.Environment{Host: fakeToken})}},
		{"environment.arch", fairway.EvidenceAdd{Environment: env(fairway.Environment{Arch: fakeToken})}},
		{"environment.fingerprint", fairway.EvidenceAdd{Environment: env(fairway.Environment{Fingerprint: fakeToken})}},
		{"environment.tools", fairway.EvidenceAdd{Environment: env(fairway.Environment{Tools: map[string]string{"go": fakeToken}})}},
		{"environment.tools", fairway.EvidenceAdd{Environment: env(fairway.Environment{Tools: map[string]string{fakeToken: "1.0"}})}},
		{"environment.env_names", fairway.EvidenceAdd{Environment: env(fairway.Environment{EnvNames: []string{fakeToken}})}},
	}
	for _, c := range cases {
		c.add.Task = "OPS-FIX-001"
		if c.add.Kind == "" {
			c.add.Kind = "log"
		}
		before := auditLen(t, l)
		_, err := l.AddEvidence(as("codex"), c.add, fairway.EvidenceParts{Content: strings.NewReader("ok\n")})
		var fe *fairway.Error
		if err == nil || !asError(err, &fe) || fe.Code != fairway.EINVALID || fe.Field != c.field || !strings.Contains(fe.Message, "rule github-token") {
			t.Errorf("%s: %v, want invalid %s naming the rule", c.field, err, c.field)
			continue
		}
		if strings.Contains(err.Error(), fakeToken) {
			t.Errorf("%s: the refusal repeats the secret", c.field)
		}
		if after := auditLen(t, l); after != before {
			t.Errorf("%s: %d events written", c.field, after-before)
		}
	}
	if evs := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: "OPS-FIX-001"})); len(evs) != 0 {
		t.Fatalf("evidence written: %d records, want none", len(evs))
	}
}

// A command line is kept in an immutable record: secrets in argv and in
// recorded environment values are redacted, and the finding recorded.
func TestSecrets_CommandLineRedacted(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	cmd := &fairway.Command{Argv: []string{"curl", "-u", "api:" + fakeToken, "https://example.test"}, ExitCode: 0}
	env := &fairway.Environment{OS: "linux", EnvValues: map[string]string{"CI": "true", "GH_TOKEN": fakeToken}}
	ev := must(l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "command-result", Command: cmd, Environment: env},
		fairway.EvidenceParts{Content: strings.NewReader("200 OK\n")}))
	got := must(l.GetEvidence(context.Background(), ev.ID))
	if strings.Contains(strings.Join(got.Command.Argv, " "), fakeToken) || got.Command.Argv[0] != "curl" || got.Command.Argv[3] != "https://example.test" {
		t.Fatalf("argv kept = %q", got.Command.Argv)
	}
	if strings.Contains(got.Environment.EnvValues["GH_TOKEN"], fakeToken) || got.Environment.EnvValues["CI"] != "true" {
		t.Fatalf("env values kept = %v", got.Environment.EnvValues)
	}
	if len(got.Scan.Findings) < 2 || !got.Scan.Redacted {
		t.Fatalf("findings = %+v", got.Scan)
	}
	for _, e := range must(l.AuditLog(context.Background(), fairway.AuditFilter{})) {
		if strings.Contains(string(e.Change), fakeToken) {
			t.Fatalf("audit event %d holds the secret", e.Seq)
		}
	}
	r := must(l.OpenEvidence(context.Background(), ev.ID, fairway.PartContent))
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "200 OK\n" {
		t.Fatalf("content = %q", b)
	}
}

// A policy's source is kept for good: a secret in a comment is refused
// with the file, line and rule; proposing the policy already in force is
// refused as a change that changes nothing.
func TestPolicy_SourceScannedAndNoEmptyProposals(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	leaky := append([]byte("# deploy with "+fakeToken+"\n"), demo.Policy...)
	_, err := l.ProposePolicy(as("alice"), "OPS-FIX-001", "governance.yaml", leaky)
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "governance.yaml:1:") || strings.Contains(err.Error(), fakeToken) {
		t.Fatalf("a policy holding a token: %v", err)
	}
	if _, err := l.ProposePolicy(as("alice"), "OPS-FIX-001", "governance.yaml", demo.Policy); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("proposing the policy in force: %v, want conflict", err)
	}
}

// A correction cannot hide evidence: it is of the same kind, and a record
// is corrected once.
func TestEvidence_SupersedesSameKindOnce(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	add := func(kind, supersedes, body string) (*fairway.Evidence, error) {
		return l.AddEvidence(as("codex"), fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: kind, Supersedes: supersedes}, fairway.EvidenceParts{Content: strings.NewReader(body)})
	}
	failing := must(add("uat-report", "", `<testsuite><testcase name="a"><failure/></testcase></testsuite>`))
	if _, err := add("log", failing.ID, "all good\n"); fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "same kind") {
		t.Fatalf("a log correcting a UAT report: %v", err)
	}
	fixed := must(add("uat-report", failing.ID, `<testsuite><testcase name="a"/></testcase></testsuite>`))
	if _, err := add("uat-report", failing.ID, `<testsuite><testcase name="b"/></testsuite>`); fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "already corrected by "+fixed.ID) {
		t.Fatalf("a second correction of one record: %v", err)
	}
}
