package ledger

import (
	"strings"
	"testing"

	"fairway"
	"fairway/policy"
)

// TestJudge_HandWrittenCIConclusionDoesNotCount: a ci-terminal record an
// agent wrote, or one written through a session, from before such
// records were refused, shows no success, whatever it says; the CI
// system's service actor's and a human's do.
func TestJudge_HandWrittenCIConclusionDoesNotCount(t *testing.T) {
	success := &fairway.Summary{Format: "ci-run", Conclusion: "success"}
	cases := []struct {
		name          string
		by, kind, ses string
		ok            bool
	}{
		{"agent", "codex", fairway.KindAgent, "", false},
		{"through a session", "alice", fairway.KindHuman, "S-1", false},
		{"service", "ci", fairway.KindService, "", true},
		{"human", "alice", fairway.KindHuman, "", true},
	}
	for _, c := range cases {
		e := &fairway.Evidence{ID: "EV-1", Task: "OPS-1", Kind: fairway.EvidenceCITerminal, RecordedBy: c.by, RecordedByKind: c.kind, Session: c.ses, Summary: success}
		v := judge(e, policy.Success{})
		if v.ok != c.ok {
			t.Fatalf("%s: judged ok=%t (%s), want %t", c.name, v.ok, v.failure, c.ok)
		}
		if !c.ok && (!strings.Contains(v.failure, "written by hand by "+c.by) || !strings.Contains(v.remedy, "fairway monitor record --task OPS-1")) {
			t.Fatalf("%s: %q / %q", c.name, v.failure, v.remedy)
		}
	}
}
