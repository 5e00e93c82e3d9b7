package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"fairway"
)

// Predicate types. SLSA provenance and the in-toto test result are public
// formats; the human-review and gate-decision predicates are Fairway's
// own (no vetted in-toto predicate describes an approval or a gate).
const (
	SLSAProvenanceType = "https://slsa.dev/provenance/v1"
	TestResultType     = "https://in-toto.io/attestation/test-result/v0.1"
	HumanReviewType    = "https://fairway.dev/attestation/human-review/v1"
	GateDecisionType   = "https://fairway.dev/attestation/gate-decision/v1"
	// CommandBuildType is the SLSA buildType of a command Fairway recorded.
	CommandBuildType = "https://fairway.dev/attestation/command/v1"
)

// ResourceDescriptor is the in-toto v1 resource descriptor.
type ResourceDescriptor struct {
	Name        string            `json:"name,omitempty"`
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	MediaType   string            `json:"mediaType,omitempty"`
	Annotations map[string]any    `json:"annotations,omitempty"`
}

// Provenance is the SLSA provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is what ran, with which inputs.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// RunDetails is who ran it, when, and what else it produced.
type RunDetails struct {
	Builder    Builder              `json:"builder"`
	Metadata   *BuildMetadata       `json:"metadata,omitempty"`
	Byproducts []ResourceDescriptor `json:"byproducts,omitempty"`
}

// Builder identifies what ran the command.
type Builder struct {
	ID string `json:"id"`
}

// BuildMetadata is the run's identity and times.
type BuildMetadata struct {
	InvocationID string     `json:"invocationId,omitempty"`
	StartedOn    *time.Time `json:"startedOn,omitempty"`
	FinishedOn   *time.Time `json:"finishedOn,omitempty"`
}

// TestResult is the in-toto test-result v0.1 predicate.
type TestResult struct {
	Result        string               `json:"result"`
	Configuration []ResourceDescriptor `json:"configuration"`
	URL           string               `json:"url,omitempty"`
	PassedTests   []string             `json:"passedTests,omitempty"`
	WarnedTests   []string             `json:"warnedTests,omitempty"`
	FailedTests   []string             `json:"failedTests,omitempty"`
}

// HumanReview is one human approval: a review verdict for a domain, or an
// approved waiver, with what it was bound to.
type HumanReview struct {
	Task     string `json:"task"`
	Approval string `json:"approval"` // review or waiver
	ID       int64  `json:"id"`
	Domain   string `json:"domain,omitempty"`
	Verdict  string `json:"verdict"`
	Reviewer string `json:"reviewer"`
	// ReviewerKind is the kind of the actor: only humans approve (R1).
	ReviewerKind string              `json:"reviewerKind,omitempty"`
	Items        []string            `json:"items,omitempty"`
	Comment      string              `json:"comment,omitempty"`
	Requirement  string              `json:"requirement,omitempty"`
	Reason       string              `json:"reason,omitempty"`
	ExpiresAt    *time.Time          `json:"expiresAt,omitempty"`
	MFA          *fairway.MFAPosture `json:"mfa"`
	// BoundTo names the digests the approval judged.
	BoundTo    map[string]string `json:"boundTo"`
	ReviewedAt time.Time         `json:"reviewedAt"`
}

// GatePredicate is a gate decision stamped with the policy digest.
type GatePredicate struct {
	Decision *fairway.GateDecision `json:"decision"`
	// Recorded is true when the decision is the one the task.close event
	// wrote; false when it was evaluated at export time for an open task.
	Recorded bool `json:"recorded"`
}

func statement(predicateType string, subjects []Subject, predicate any) (*Statement, error) {
	b, err := json.Marshal(predicate)
	if err != nil {
		return nil, err
	}
	return &Statement{Type: StatementType, Subject: subjects, PredicateType: predicateType, Predicate: b}, nil
}

func subject(name, d string) (Subject, error) {
	alg, h, err := digestOf(d)
	if err != nil {
		return Subject{}, err
	}
	return Subject{Name: name, Digest: map[string]string{alg: h}}, nil
}

// evidenceSubjects are the digests of an evidence record's bytes: its
// content and each command stream kept apart.
func evidenceSubjects(e *fairway.Evidence) ([]Subject, error) {
	var out []Subject
	add := func(name, d string) error {
		if d == "" {
			return nil
		}
		s, err := subject(name, d)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}
	if err := add("evidence/"+e.ID, e.Digest); err != nil {
		return nil, err
	}
	if e.Command != nil {
		if err := add("evidence/"+e.ID+"/stdout", e.Command.StdoutDigest); err != nil {
			return nil, err
		}
		if err := add("evidence/"+e.ID+"/stderr", e.Command.StderrDigest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Evidence makes the statement for one evidence record. Its subjects are
// the digests of its bytes; its predicate follows a public format where
// one fits: the in-toto test result for a JUnit report, SLSA provenance
// for any other command run, Fairway's evidence predicate otherwise.
func Evidence(e *fairway.Evidence) (*Statement, error) {
	subjects, err := evidenceSubjects(e)
	if err != nil {
		return nil, err
	}
	switch {
	case e.Summary != nil && e.Summary.Format == "junit":
		return statement(TestResultType, subjects, testResult(e))
	case e.Command != nil:
		return statement(SLSAProvenanceType, subjects, provenance(e))
	}
	return statement(EvidencePredicateType, subjects, EvidencePredicate{Task: e.Task, EvidenceID: e.ID, Kind: e.Kind, MediaType: e.MediaType, Size: e.Size,
		RecordedBy: e.RecordedBy, RecorderKind: e.RecordedByKind, Session: e.Session, RecordedAt: e.RecordedAt,
		Command: e.Command, Source: e.Source, Environment: e.Environment, Summary: e.Summary})
}

// source describes the commit evidence came from, as a dependency.
func source(e *fairway.Evidence) []ResourceDescriptor {
	if e.Source == nil || e.Source.Commit == "" {
		return nil
	}
	ann := map[string]any{"dirty": e.Source.Dirty}
	if e.Source.Branch != "" {
		ann["branch"] = e.Source.Branch
	}
	return []ResourceDescriptor{{Name: "source", Digest: map[string]string{"gitCommit": e.Source.Commit}, Annotations: ann}}
}

func fairwayFields(e *fairway.Evidence) map[string]any {
	m := map[string]any{"task": e.Task, "evidenceId": e.ID, "kind": e.Kind, "recordedBy": e.RecordedBy,
		"recorderKind": e.RecordedByKind, "recordedAt": e.RecordedAt}
	if e.Session != "" {
		m["session"] = e.Session
	}
	if e.Environment != nil {
		m["environment"] = e.Environment
	}
	if e.Command != nil {
		m["exitCode"] = e.Command.ExitCode
		if e.Command.Interrupted {
			m["interrupted"], m["signal"] = true, e.Command.Signal
		}
	}
	return m
}

func provenance(e *fairway.Evidence) *Provenance {
	c := e.Command
	p := &Provenance{
		BuildDefinition: BuildDefinition{BuildType: CommandBuildType,
			ExternalParameters:   map[string]any{"argv": c.Argv, "dir": c.Dir},
			InternalParameters:   fairwayFields(e),
			ResolvedDependencies: source(e)},
		RunDetails: RunDetails{Builder: Builder{ID: "https://fairway.dev/recorder/" + url.PathEscape(e.RecordedBy)},
			Metadata: &BuildMetadata{InvocationID: e.ID}},
	}
	if !c.Started.IsZero() {
		t := c.Started
		p.RunDetails.Metadata.StartedOn = &t
	}
	if !c.Ended.IsZero() {
		t := c.Ended
		p.RunDetails.Metadata.FinishedOn = &t
	}
	for _, s := range []struct{ name, d string }{{"stdout", c.StdoutDigest}, {"stderr", c.StderrDigest}} {
		if _, h, err := digestOf(s.d); err == nil {
			p.RunDetails.Byproducts = append(p.RunDetails.Byproducts, ResourceDescriptor{Name: s.name, Digest: map[string]string{"sha256": h}, MediaType: "text/plain"})
		}
	}
	return p
}

func testResult(e *fairway.Evidence) *TestResult {
	s := e.Summary
	result := "PASSED"
	if s.Failed+s.Errors > 0 || e.Command != nil && e.Command.ExitCode != 0 {
		result = "FAILED"
	}
	ann := fairwayFields(e)
	ann["tests"], ann["passed"], ann["failed"], ann["errors"], ann["skipped"] = s.Tests, s.Passed, s.Failed, s.Errors, s.Skipped
	if e.Command != nil {
		ann["argv"] = e.Command.Argv
	}
	report := ResourceDescriptor{Name: "evidence/" + e.ID, MediaType: e.MediaType, Annotations: ann}
	if _, h, err := digestOf(e.Digest); err == nil {
		report.Digest = map[string]string{"sha256": h}
	}
	return &TestResult{Result: result, Configuration: append(source(e), report)}
}

// Review makes the statement of one review: its subject is the snapshot
// digest of the scope and evidence it judged.
func Review(r *fairway.Review) (*Statement, error) {
	s, err := subject("task/"+r.Task+"/snapshot", r.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("review %d: %w", r.ID, err)
	}
	return statement(HumanReviewType, []Subject{s}, &HumanReview{Task: r.Task, Approval: "review", ID: r.ID, Domain: r.Domain, Verdict: r.Verdict,
		Reviewer: r.Reviewer, ReviewerKind: r.ReviewerKind, Items: r.Items, Comment: r.Comment, MFA: r.MFA,
		BoundTo: map[string]string{"snapshot": r.Snapshot}, ReviewedAt: r.At})
}

// Waiver makes the statement of an approved waiver: its subject is the
// digest of the waiver record as the audit log wrote it.
func Waiver(w *fairway.Waiver) (*Statement, error) {
	body, err := fairway.CanonicalJSON(w)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	d := "sha256:" + hex.EncodeToString(sum[:])
	exp := w.ExpiresAt
	return statement(HumanReviewType, []Subject{{Name: fmt.Sprintf("waiver/%d", w.ID), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		&HumanReview{Task: w.Task, Approval: "waiver", ID: w.ID, Domain: w.Domain, Verdict: "approved", Reviewer: w.ApprovedBy,
			Requirement: w.Requirement, Reason: w.Reason, ExpiresAt: &exp, BoundTo: map[string]string{"waiver": d}, ReviewedAt: w.ApprovedAt})
}

// Gate makes the statement of a gate decision: its subjects are the
// snapshot it judged and the policy it applied.
func Gate(d *fairway.GateDecision, recorded bool) (*Statement, error) {
	var subjects []Subject
	if d.SnapshotDigest != "" {
		s, err := subject("task/"+d.Task+"/snapshot", d.SnapshotDigest)
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, s)
	}
	if d.PolicyDigest != "" {
		s, err := subject("policy", d.PolicyDigest)
		if err != nil {
			return nil, err
		}
		subjects = append(subjects, s)
	}
	return statement(GateDecisionType, subjects, &GatePredicate{Decision: d, Recorded: recorded})
}

// RecordDigest is the SHA-256 of a whole evidence record, its ID aside:
// what the evidence.add event binds.
func RecordDigest(e *fairway.Evidence) string {
	c := *e
	c.ID = ""
	body, _ := fairway.CanonicalJSON(&c)
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}
