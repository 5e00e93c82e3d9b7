package attest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/attest"
	"fairway/tlog"
)

func testEvidence() *fairway.Evidence {
	return &fairway.Evidence{ID: "EV-1", Task: "OPS-FIX-001", Kind: "command-result", Digest: "sha256:" + strings.Repeat("ab", 32),
		Size: 12, MediaType: "text/plain", RecordedBy: "codex", RecordedByKind: "agent", RecordedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		Command: &fairway.Command{Argv: []string{"go", "test", "./..."}, Dir: "repo", ExitCode: 0, StdoutDigest: "sha256:" + strings.Repeat("cd", 32)},
		Source:  &fairway.SourceState{Commit: strings.Repeat("1", 40)}}
}

func TestEvidence_SignedStatementVerifies(t *testing.T) {
	skey, vkey, err := tlog.GenerateKey("fairway.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := tlog.GenerateKey("fairway.test/audit")
	st, err := attest.Evidence(testEvidence())
	if err != nil {
		t.Fatal(err)
	}
	env, err := attest.Sign(st, skey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := attest.Verify(env, vkey)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Subject) != 2 || got.Subject[0].Name != "evidence/EV-1" || got.Subject[0].Digest["sha256"] != strings.Repeat("ab", 32) ||
		got.Subject[1].Name != "evidence/EV-1/stdout" || got.PredicateType != attest.SLSAProvenanceType {
		t.Fatalf("statement = %+v", got)
	}
	var p attest.Provenance
	if err := json.Unmarshal(got.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	bd := p.BuildDefinition
	if bd.BuildType != attest.CommandBuildType || fmt.Sprint(bd.ExternalParameters["argv"]) != "[go test ./...]" || bd.ExternalParameters["dir"] != "repo" ||
		bd.InternalParameters["exitCode"] != float64(0) || len(bd.ResolvedDependencies) != 1 || bd.ResolvedDependencies[0].Digest["gitCommit"] != strings.Repeat("1", 40) ||
		p.RunDetails.Builder.ID != "https://fairway.dev/recorder/codex" || p.RunDetails.Metadata.InvocationID != "EV-1" ||
		len(p.RunDetails.Byproducts) != 1 || p.RunDetails.Byproducts[0].Digest["sha256"] != strings.Repeat("cd", 32) {
		t.Fatalf("provenance = %+v", p)
	}

	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	tests := []struct {
		name string
		edit func(e *attest.Envelope)
		key  string
		want string
	}{
		{"another key", func(e *attest.Envelope) {}, otherKey, "no signature of this key"},
		{"payload edited", func(e *attest.Envelope) {
			edited := strings.Replace(string(payload), `"exitCode":0`, `"exitCode":1`, 1)
			if edited == string(payload) {
				t.Fatal("the payload holds no exit code to edit")
			}
			e.Payload = base64.StdEncoding.EncodeToString([]byte(edited))
		}, vkey, "no signature of this key"},
		{"payload type changed", func(e *attest.Envelope) { e.PayloadType = "application/json" }, vkey, "payload type"},
		{"signature removed", func(e *attest.Envelope) { e.Signatures = nil }, vkey, "no signature of this key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := *env
			bad.Signatures = append([]attest.Signature(nil), env.Signatures...)
			tt.edit(&bad)
			if _, err := attest.Verify(&bad, tt.key); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestEvidence_RefusesABadDigest(t *testing.T) {
	e := testEvidence()
	e.Digest = "md5:abc"
	if _, err := attest.Evidence(e); err == nil || !strings.Contains(err.Error(), `digest "md5:abc" is not sha256:HEX`) {
		t.Fatalf("err = %v", err)
	}
}

// A JUnit report is an in-toto test result; evidence with no command keeps
// Fairway's own predicate.
func TestEvidence_PredicateByKind(t *testing.T) {
	junit := testEvidence()
	junit.Kind, junit.MediaType = "test-report", "application/xml"
	junit.Summary = &fairway.Summary{Format: "junit", Tests: 10, Passed: 9, Failed: 1}
	st, err := attest.Evidence(junit)
	if err != nil {
		t.Fatal(err)
	}
	var tr attest.TestResult
	if err := json.Unmarshal(st.Predicate, &tr); err != nil || st.PredicateType != attest.TestResultType || tr.Result != "FAILED" ||
		len(tr.Configuration) != 2 || tr.Configuration[0].Digest["gitCommit"] != strings.Repeat("1", 40) ||
		tr.Configuration[1].Name != "evidence/EV-1" || tr.Configuration[1].Annotations["failed"] != float64(1) {
		t.Fatalf("test result %s = %+v, %v", st.PredicateType, tr, err)
	}
	junit.Summary.Failed, junit.Summary.Passed = 0, 10
	st, _ = attest.Evidence(junit)
	if json.Unmarshal(st.Predicate, &tr); tr.Result != "PASSED" {
		t.Fatalf("result = %q, want PASSED", tr.Result)
	}
	shot := testEvidence()
	shot.Kind, shot.Command = "screenshot", nil
	st, _ = attest.Evidence(shot)
	if st.PredicateType != attest.EvidencePredicateType || len(st.Subject) != 1 {
		t.Fatalf("screenshot statement = %+v", st)
	}
}
