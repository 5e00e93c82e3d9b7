package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway/attest"
	"fairway/tlog"
)

// An open task's packet carries its approved waiver as a human-review
// statement and the gate decision evaluated at export (not recorded),
// stamped with the policy the log put in force; it verifies offline.
func TestExportPacket_OpenTaskWithWaiver(t *testing.T) {
	dir := demoDir(t)
	key, pub := filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub")
	if _, errOut, code := runAs(dir, "olivia", "keys", "generate", "--name", "fairway.test/audit", "--out", key, "--pub", pub); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := runAs(dir, "omar", "waiver", "approve", "1"); code != 0 {
		t.Fatal(errOut)
	}
	out := filepath.Join(dir, "packet")
	stdout, errOut, code := runAs(dir, "olivia", "export", "OPS-UAT-KIND-FULL-001", "--out", out, "--key", key)
	if code != 0 || !strings.HasPrefix(stdout, "wrote the evidence packet of OPS-UAT-KIND-FULL-001 to "+out+": ") || !strings.Contains(stdout, "1 waiver(s), gate FAIL)") {
		t.Fatalf("exit %d\n%s%s", code, stdout, errOut)
	}
	vkey, _ := tlog.ReadVerifierKey(pub)
	rep, err := attest.VerifyPacket(out, vkey)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Task != "OPS-UAT-KIND-FULL-001" || rep.Checkpoint.Origin != "fairway.test/audit" {
		t.Fatalf("report %+v", rep)
	}
	var gate, waiver attest.Statement
	for file, st := range map[string]*attest.Statement{"gate": &gate, "waiver-1": &waiver} {
		var env attest.Envelope
		b, _ := os.ReadFile(filepath.Join(out, "statements", file+".intoto.json"))
		json.Unmarshal(b, &env)
		got, err := attest.Verify(&env, vkey)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		*st = *got
	}
	var gp attest.GatePredicate
	json.Unmarshal(gate.Predicate, &gp)
	if gate.PredicateType != attest.GateDecisionType || gp.Recorded || gp.Decision.Pass || gp.Decision.PolicyDigest == "" ||
		gate.Subject[len(gate.Subject)-1].Name != "policy" || "sha256:"+gate.Subject[len(gate.Subject)-1].Digest["sha256"] != gp.Decision.PolicyDigest {
		t.Fatalf("gate statement %+v / %+v", gate, gp.Decision)
	}
	var hr attest.HumanReview
	json.Unmarshal(waiver.Predicate, &hr)
	if waiver.PredicateType != attest.HumanReviewType || hr.Approval != "waiver" || hr.Reviewer != "omar" || hr.Domain != "ops" ||
		hr.Requirement != "prerequisite:kind-compute-capacity" || !strings.HasPrefix(hr.BoundTo["waiver"], "sha256:") {
		t.Fatalf("waiver statement %+v", hr)
	}

	// Refusals change nothing (not even a checkpoint is published) and
	// say what.
	checkpoints := func() (n int) {
		db, err := sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(`SELECT count(*) FROM audit_checkpoints`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := checkpoints()
	if before != 1 {
		t.Fatalf("%d checkpoints stored after one export", before)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no folder", []string{"export", "OPS-SAFE-002", "--key", key}, exitUsage, "out: is required"},
		{"no key", []string{"export", "OPS-SAFE-002", "--out", filepath.Join(dir, "p2")}, exitUsage, "key: is required"},
		{"a folder in use", []string{"export", "OPS-SAFE-002", "--out", out, "--key", key}, exitUsage, "is not empty: give a new folder"},
		{"a public key to sign with", []string{"export", "OPS-SAFE-002", "--out", filepath.Join(dir, "p3"), "--key", pub}, exitUsage, "not a signing key"},
		{"no such task", []string{"export", "OPS-NOPE-001", "--out", filepath.Join(dir, "p4"), "--key", key}, exitNotFound, "OPS-NOPE-001"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := runAs(dir, "olivia", c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, c.code, c.msg, errOut)
			}
		})
	}
	if after := checkpoints(); after != before {
		t.Errorf("the refusals published %d checkpoint(s)", after-before)
	}
	for _, p := range []string{"p2", "p3", "p4"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("a refused export left %s behind", p)
		}
	}
}
