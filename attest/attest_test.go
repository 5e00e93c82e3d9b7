package attest_test

import (
	"encoding/base64"
	"encoding/json"
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
		got.Subject[1].Name != "evidence/EV-1/stdout" || got.PredicateType != attest.EvidencePredicateType {
		t.Fatalf("statement = %+v", got)
	}
	var p attest.EvidencePredicate
	if err := json.Unmarshal(got.Predicate, &p); err != nil || p.Command.ExitCode != 0 || p.Source.Commit != strings.Repeat("1", 40) || p.Command.Argv[1] != "test" {
		t.Fatalf("predicate = %+v, %v", p, err)
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
			e.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"exit_code":0`, `"exit_code":1`, 1)))
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
