package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fairway/internal/forge"
	"fairway/tlog"
)

// signedLog is a local ledger with a signing key and checkpoints at
// sizes sizes[0] < sizes[1] < sizes[2], where sizes[1] = sizes[0]+1.
type signedLog struct {
	e     *cliEnv
	key   string
	pub   string
	cps   []string
	sizes []int64
}

func newSignedLog(t *testing.T) *signedLog {
	e := newCLIEnv(t, true)
	s := &signedLog{e: e, key: filepath.Join(e.dir, "audit.key"), pub: filepath.Join(e.dir, "audit.pub")}
	s.mustRun(t, "keys", "generate", "--name", "fairway.test/audit", "--out", s.key, "--pub", s.pub)
	if fi, err := os.Stat(s.key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	task := 0
	for _, n := range []int{2, 1, 3} {
		for i := 0; i < n; i++ {
			task++
			s.mustRun(t, "task", "create", "T-"+strconv.Itoa(task), "--title", "work "+strconv.Itoa(task))
		}
		cp := filepath.Join(e.dir, "cp"+strconv.Itoa(len(s.cps)+1))
		s.mustRun(t, "audit", "checkpoint", "--key", s.key, "--out", cp)
		c, err := openCheckpoint("checkpoint", cp, s.pub)
		if err != nil {
			t.Fatal(err)
		}
		s.cps, s.sizes = append(s.cps, cp), append(s.sizes, c.Size)
	}
	if s.sizes[1] != s.sizes[0]+1 {
		t.Fatalf("checkpoint sizes %v", s.sizes)
	}
	return s
}

func (s *signedLog) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.e.run("alice", args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// rewrite is the attacker with write access to the file and no key: it
// changes event seq (or, with cut, deletes every event from seq on),
// recomputes every later hash, the head, and the whole Merkle tree.
func rewrite(t *testing.T, dir string, seq int64, cut bool) {
	t.Helper()
	r := forge.Rewrite{Seq: seq, Cut: cut, Tree: true}
	if !cut {
		r.Edit = forge.AddToChange
	}
	forge.Apply(t, filepath.Join(dir, "fairway.db"), r)
}

func TestAudit_RewrittenLogFailsAgainstPublishedCheckpoint(t *testing.T) {
	s := newSignedLog(t)
	s1, s2, s3 := s.sizes[0], s.sizes[1], s.sizes[2]
	export := filepath.Join(s.e.dir, "before.jsonl")
	s.mustRun(t, "audit", "export", "--out", export)
	if out := s.mustRun(t, "audit", "verify", "--checkpoint", s.cps[2], "--key", s.pub); !strings.HasPrefix(out, "audit log matches its signed checkpoints ["+itoa(s1)+" "+itoa(s2)+" "+itoa(s3)+"]") {
		t.Fatalf("verify before the attack: %q", out)
	}
	s.mustRun(t, "audit", "verify-export", export, "--checkpoint", s.cps[2], "--key", s.pub)
	s.mustRun(t, "audit", "consistency", "--from", s.cps[0], "--to", s.cps[2], "--key", s.pub)
	s.mustRun(t, "audit", "prove", "--seq", itoa(s2), "--checkpoint", s.cps[1], "--key", s.pub)
	// The same, positionally, as the issue names them.
	if out := s.mustRun(t, "audit", "consistency", s.cps[0], s.cps[2], "--key", s.pub); !strings.HasPrefix(out, "the log at checkpoint "+itoa(s3)+" extends the log at checkpoint "+itoa(s1)) {
		t.Fatalf("consistency OLD NEW: %q", out)
	}
	if out := s.mustRun(t, "audit", "prove", itoa(s2), "--checkpoint", s.cps[1], "--key", s.pub); !strings.HasPrefix(out, "event "+itoa(s2)+" (task.create T-3) is included in checkpoint fairway.test/audit/"+itoa(s2)) {
		t.Fatalf("prove SEQ: %q", out)
	}

	rewrite(t, s.e.dir, s2, false)

	// The chain and tree inside the file agree with each other again.
	if out := s.mustRun(t, "audit", "verify"); !strings.HasPrefix(out, "audit log intact") {
		t.Fatalf("plain verify after a thorough rewrite: %q", out)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ledger", []string{"audit", "verify", "--checkpoint", s.cps[2], "--key", s.pub},
			"audit log does NOT match its signed checkpoints, first at event " + itoa(s2) + ": event " + itoa(s2) + " differs from what checkpoint fairway.test/audit/" + itoa(s2) + " signed (events 1 to " + itoa(s1) + " match checkpoint " + itoa(s1) + "): the log was rewritten\n"},
		{"export", []string{"audit", "verify-export", export + ".after", "--checkpoint", s.cps[2], "--key", s.pub},
			"audit log does NOT match its signed checkpoints, first at event 1: events 1 to " + itoa(s3) + " do not hash to the root checkpoint fairway.test/audit/" + itoa(s3) + " signed; they matched checkpoint 0, so the first rewritten event is between 1 and " + itoa(s3) + ": the log was rewritten\n"},
	}
	s.mustRun(t, "audit", "export", "--out", export+".after")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := s.e.run("alice", tt.args...)
			if code != exitConflict || out != tt.want {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d:\n%s", code, out, exitConflict, tt.want)
			}
		})
	}
	// The proofs made before the attack still name the honest log: the
	// old checkpoint no longer extends into the rewritten one.
	if _, _, code := s.e.run("alice", "audit", "prove", "--seq", itoa(s2), "--checkpoint", s.cps[1], "--key", s.pub); code != exitConflict {
		t.Fatalf("prove of the rewritten event against the old checkpoint: exit %d, want %d", code, exitConflict)
	}
	// The export taken before the attack still verifies on its own.
	s.mustRun(t, "audit", "verify-export", export, "--checkpoint", s.cps[2], "--key", s.pub)
}

func TestAudit_TruncatedLogFailsAgainstPublishedCheckpoint(t *testing.T) {
	s := newSignedLog(t)
	s2, s3 := s.sizes[1], s.sizes[2]
	rewrite(t, s.e.dir, s2+1, true)
	out, _, code := s.e.run("alice", "audit", "verify", "--checkpoint", s.cps[2], "--key", s.pub)
	want := "audit log does NOT match its signed checkpoints, first at event " + itoa(s2+1) + ": the log ends at event " + itoa(s2) + " but checkpoint fairway.test/audit/" + itoa(s3) + " signed " + itoa(s3) + " events: events " + itoa(s2+1) + " to " + itoa(s3) + " are missing (truncated)\n"
	if code != exitConflict || out != want {
		t.Fatalf("exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
}

func TestAudit_CheckpointRefusals(t *testing.T) {
	s := newSignedLog(t)
	other := filepath.Join(s.e.dir, "other.pub")
	s.mustRun(t, "keys", "generate", "--name", "fairway.test/audit", "--out", filepath.Join(s.e.dir, "other.key"), "--pub", other)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"key file never overwritten", []string{"keys", "generate", "--name", "x", "--out", s.key}, exitConflict, "exists already"},
		{"checkpoint needs a key", []string{"audit", "checkpoint"}, exitUsage, "key: is required"},
		{"a checkpoint of another key", []string{"audit", "verify", "--checkpoint", s.cps[2], "--key", other}, exitUsage, "checkpoint signature"},
		{"consistency backwards", []string{"audit", "consistency", "--from", s.cps[2], "--to", s.cps[0], "--key", s.pub}, exitUsage, "give the older checkpoint as --from"},
		{"prove seq 0", []string{"audit", "prove", "--seq", "0"}, exitUsage, "seq: is required"},
		{"prove a word", []string{"audit", "prove", "twelve"}, exitUsage, `seq: "twelve" is not a sequence number`},
		{"consistency of one file", []string{"audit", "consistency", s.cps[0], "--key", s.pub}, exitUsage, "want OLD.checkpoint NEW.checkpoint, or --from and --to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := s.e.run("alice", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The server signs only when the log grew, and serves the newest signed
// note at GET /api/v1/checkpoint.
func TestServe_SignsCheckpointsWhenTheLogGrew(t *testing.T) {
	e := newCLIEnv(t, false)
	key := filepath.Join(e.dir, "audit.key")
	if _, errOut, code := e.run("alice", "keys", "generate", "--name", "fairway.test/audit", "--out", key); code != 0 {
		t.Fatal(errOut)
	}
	skey, err := readSigningKey("sign-key", key)
	if err != nil {
		t.Fatal(err)
	}
	l := e.l
	first, err := signIfGrown(context.Background(), l, skey, nil)
	if err != nil || first == nil {
		t.Fatalf("first signing = %v, %v", first, err)
	}
	if again, err := signIfGrown(context.Background(), l, skey, nil); again != nil || err != nil {
		t.Fatalf("signing an unchanged log = %v, %v; want nothing", again, err)
	}
	if _, errOut, code := e.run("alice", "task", "create", "T-1", "--title", "work"); code != 0 {
		t.Fatal(errOut)
	}
	second, err := signIfGrown(context.Background(), l, skey, nil)
	if err != nil || second == nil || second.Size != first.Size+1 {
		t.Fatalf("signing a grown log = %+v, %v; want size %d", second, err, first.Size+1)
	}
	req, _ := http.NewRequest("GET", e.server+"/api/v1/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["codex"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != second.Note || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("GET /api/v1/checkpoint = %d %q %q; want the newest note", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	vkey, _ := tlog.VerifierKeyFor(skey)
	if c, err := tlog.Open(body, vkey); err != nil || c.Size != second.Size {
		t.Fatalf("served checkpoint does not open: %v", err)
	}
}

// Evidence exported as signed attestations verifies offline with the
// public key, and a changed byte or another key does not.
func TestEvidence_ExportedAttestationsVerify(t *testing.T) {
	s := newSignedLog(t)
	log := filepath.Join(s.e.dir, "pods.log")
	if err := os.WriteFile(log, []byte("pods ready\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustRun(t, "evidence", "add", "--task", "T-1", "--kind", "log", log)
	out := filepath.Join(s.e.dir, "T-1.intoto.jsonl")
	s.mustRun(t, "evidence", "export", "--task", "T-1", "--key", s.key, "--out", out)
	got := s.mustRun(t, "evidence", "verify-attestation", out, "--key", s.pub)
	sum := sha256.Sum256([]byte("pods ready\n"))
	if !strings.HasPrefix(got, "verified evidence/") || !strings.HasSuffix(got, " sha256:"+hex.EncodeToString(sum[:])+" (https://fairway.dev/attestation/evidence/v1)\n") {
		t.Fatalf("verify-attestation = %q", got)
	}
	b, _ := os.ReadFile(out)
	var env map[string]any
	json.Unmarshal(b, &env)
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	if !strings.Contains(string(payload), `"recordedBy":"alice"`) {
		t.Fatalf("payload does not name the recorder: %s", payload)
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"recordedBy":"alice"`, `"recordedBy":"olivia"`, 1)))
	tampered, _ := json.Marshal(env)
	bad := filepath.Join(s.e.dir, "tampered.jsonl")
	os.WriteFile(bad, tampered, 0o644)
	other := filepath.Join(s.e.dir, "other.pub")
	s.mustRun(t, "keys", "generate", "--name", "fairway.test/audit", "--out", filepath.Join(s.e.dir, "other.key"), "--pub", other)
	for _, tt := range []struct{ file, key string }{{bad, s.pub}, {out, other}} {
		_, errOut, code := s.e.run("alice", "evidence", "verify-attestation", tt.file, "--key", tt.key)
		if code != exitConflict || !strings.Contains(errOut, "envelope 1 does not verify: no signature of this key verifies the envelope") {
			t.Fatalf("%s with %s: exit %d %q", tt.file, tt.key, code, errOut)
		}
	}
}

// Verifying against a checkpoint checks everything a plain verify does:
// a row edited behind the ledger's back fails it too.
func TestAudit_CheckpointVerifyAlsoChecksRows(t *testing.T) {
	s := newSignedLog(t)
	db, err := sql.Open("sqlite", filepath.Join(s.e.dir, "fairway.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE tasks SET status = 'done' WHERE key = (SELECT MIN(key) FROM tasks)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, _, code := s.e.run("alice", "audit", "verify", "--checkpoint", s.cps[2], "--key", s.pub)
	if code != exitConflict || !strings.Contains(out, "audit log BROKEN at event") || !strings.Contains(out, "changed outside the ledger") {
		t.Fatalf("exit %d, output:\n%s\nwant the row named", code, out)
	}
}
