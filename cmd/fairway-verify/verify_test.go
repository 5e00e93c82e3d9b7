package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"fairway"
	"fairway/internal/forge"
	"fairway/tlog"
)

// The test binary is also fairway-verify (runMainEnv set), so every check
// below runs as a real process; fairway itself is built once.
const runMainEnv = "FAIRWAY_VERIFY_TEST_MAIN"

var fairwayBin string

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	dir, err := os.MkdirTemp("", "fairway-verify-test-")
	if err != nil {
		panic(err)
	}
	fairwayBin = filepath.Join(dir, "fairway")
	if out, err := exec.Command("go", "build", "-o", fairwayBin, "fairway/cmd/fairwayd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building fairway: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestDeps_ImportsNoStoreCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "fairway/cmd/fairway-verify").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages", len(deps))
	}
	for _, d := range deps {
		for _, bad := range []string{"fairway/sqlite", "fairway/postgres", "fairway/ledger", "modernc.org/", "github.com/jackc/pgx"} {
			if d == bad || strings.HasPrefix(d, bad) {
				t.Errorf("fairway-verify depends on %s", d)
			}
		}
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// verify runs fairway-verify.
func verify(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	return runCmd(t, cmd)
}

// fw runs fairway on dir as actor and fails the test unless it succeeds.
func fw(t *testing.T, dir, actor string, args ...string) string {
	t.Helper()
	cmd := exec.Command(fairwayBin, args...)
	cmd.Env = append(os.Environ(), "FAIRWAY_DIR="+dir, "FAIRWAY_ACTOR="+actor)
	r := runCmd(t, cmd)
	if r.code != 0 {
		t.Fatalf("fairway %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// closedTaskPacket loads the demo, records a smoke run, approves and
// closes OPS-SAFE-002, and exports its packet.
func closedTaskPacket(t *testing.T) (dir, packet, pub string) {
	dir = t.TempDir()
	fw(t, dir, "", "demo", "--load-only")
	fw(t, dir, "codex-1", "run", "--task", "OPS-SAFE-002", "--kind", "smoke", "--", "sh", "-c", "echo all good")
	fw(t, dir, "omar", "review", "approve", "OPS-SAFE-002", "--domain", "ops")
	fw(t, dir, "olivia", "task", "close", "OPS-SAFE-002")
	key, pub := filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub")
	fw(t, dir, "", "keys", "generate", "--name", "fairway.test/audit", "--out", key, "--pub", pub)
	packet = filepath.Join(dir, "packet")
	fw(t, dir, "olivia", "export", "OPS-SAFE-002", "--out", packet, "--key", key)
	return dir, packet, pub
}

func readManifest(t *testing.T, packet string) map[string]any {
	var m struct {
		Items []map[string]any `json:"items"`
	}
	b, err := os.ReadFile(filepath.Join(packet, "manifest.json"))
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("manifest: %v", err)
	}
	out := map[string]any{}
	for _, it := range m.Items {
		out[it["kind"].(string)+" "+it["id"].(string)] = it
	}
	return out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-r", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

func TestPacket_VerifiesAndNamesEveryTampering(t *testing.T) {
	dir, packet, pub := closedTaskPacket(t)
	r := verify(t, "packet", packet, "--key", pub)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "VALID: packet of OPS-SAFE-002: 4 signed statement(s), 4 evidence blob(s) matching their digests, 5 audit event(s)") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	items := readManifest(t, packet)
	var smoke map[string]any
	for k, it := range items {
		if strings.HasPrefix(k, "evidence ") && it.(map[string]any)["blobs"].(map[string]any)["stdout"] != nil {
			smoke = it.(map[string]any)
		}
	}
	if smoke == nil || items["review 4"] == nil || items["gate OPS-SAFE-002"] == nil {
		t.Fatalf("manifest items %v", items)
	}
	smokeID := smoke["id"].(string)
	content := smoke["blobs"].(map[string]any)["content"].(string)
	reviewEvent := int64(items["review 4"].(map[string]any)["event"].(float64))
	reviewProof := fmt.Sprintf("proofs/event-%d.json", reviewEvent)
	_, otherPub, _ := tlog.GenerateKey("fairway.test/audit")
	flip := func(rel string, edit func([]byte) []byte) func(string) {
		return func(p string) {
			path := filepath.Join(p, rel)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, edit(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		tamper func(p string)
		key    string
		want   string
	}{
		{"a byte of evidence flipped", flip(content, func(b []byte) []byte { b[0] ^= 1; return b }), pub,
			"evidence " + smokeID + " (content): " + content + " hashes to sha256:"},
		{"evidence bytes removed", func(p string) { os.Remove(filepath.Join(p, content)) }, pub,
			"evidence " + smokeID + " (content): the bytes are missing (" + content + ")"},
		{"a byte of a statement flipped", flip(smoke["statement"].(string), func(b []byte) []byte {
			var env map[string]any
			json.Unmarshal(b, &env)
			payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
			payload = bytes.Replace(payload, []byte(`"exitCode":0`), []byte(`"exitCode":1`), 1)
			env["payload"] = base64.StdEncoding.EncodeToString(payload)
			out, _ := json.Marshal(env)
			return out
		}), pub, smoke["statement"].(string) + ": no signature of this key verifies the envelope"},
		{"a proof dropped", func(p string) { os.Remove(filepath.Join(p, reviewProof)) }, pub,
			"review 4: the audit event " + strings.TrimSuffix(strings.TrimPrefix(reviewProof, "proofs/event-"), ".json") + " that wrote it has no inclusion proof (" + reviewProof + " is missing)"},
		{"a proof hash flipped", flip(reviewProof, func(b []byte) []byte {
			var p fairway.InclusionProof
			json.Unmarshal(b, &p)
			p.Hashes[0][0] ^= 1
			out, _ := json.Marshal(p)
			return out
		}), pub, reviewProof + fmt.Sprintf(": event %d is NOT in the log checkpoint fairway.test/audit/", reviewEvent)},
		{"a review record edited", flip("records/review-4.json", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"reviewer":"omar"`), []byte(`"reviewer":"mallory"`), 1)
		}), pub, fmt.Sprintf("records/review-4.json: review 4 is not what audit event %d (review.approved) wrote", reviewEvent)},
		{"an evidence record edited", flip("records/evidence-"+smokeID+".json", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"exit_code":0`), []byte(`"exit_code":3`), 1)
		}), pub, "records/evidence-" + smokeID + ".json: the record hashes to sha256:"},
		{"another key", func(string) {}, otherPub, "checkpoint: checkpoint signature"},
		{"an item dropped from the manifest", flip("manifest.json", func(b []byte) []byte {
			var m map[string]any
			json.Unmarshal(b, &m)
			items := m["items"].([]any)
			var kept []any
			for _, it := range items {
				if it.(map[string]any)["kind"] != "review" {
					kept = append(kept, it)
				}
			}
			m["items"] = kept
			out, _ := json.Marshal(m)
			return out
		}), pub, "manifest.json is not the manifest statements/packet.intoto.json signed: an item was added, dropped or changed"},
		{"a statement swapped for another the key signed", func(p string) {
			b, _ := os.ReadFile(filepath.Join(p, "statements", "gate.intoto.json"))
			os.WriteFile(filepath.Join(p, "statements", "review-4.intoto.json"), b, 0o644)
		}, pub, "statements/review-4.intoto.json: not the statement statements/packet.intoto.json signed for review 4"},
		{"the signed index removed", func(p string) { os.Remove(filepath.Join(p, "statements", "packet.intoto.json")) }, pub,
			"statements/packet.intoto.json is missing"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "tampered"+strconv.Itoa(i))
			copyDir(t, packet, p)
			tt.tamper(p)
			r := verify(t, "packet", p, "--key", tt.key)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "fairway-verify packet: NOT VALID: "+tt.want) || r.stdout != "" {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and a message starting %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// rewrite is the attacker with write access to the database file and no
// key: it changes event seq (or, with cut, deletes every event from seq
// on), then recomputes every later hash, the head, and the whole Merkle
// tree, so that the ledger's own checks pass again.
func rewrite(t *testing.T, dir string, seq int64, cut bool) {
	t.Helper()
	r := forge.Rewrite{Seq: seq, Cut: cut, Tree: true}
	if !cut {
		r.Edit = forge.AddToChange
	}
	forge.Apply(t, filepath.Join(dir, "fairway.db"), r)
}

// signedLog is a local ledger with checkpoints published after 2, 3 and
// 6 tasks.
type signedLog struct {
	dir, key, pub string
	cps           []string
	sizes         []int64
}

func newSignedLog(t *testing.T) *signedLog {
	dir := t.TempDir()
	s := &signedLog{dir: dir, key: filepath.Join(dir, "audit.key"), pub: filepath.Join(dir, "audit.pub")}
	fw(t, dir, "", "actor", "create", "alice", "--kind", "human")
	fw(t, dir, "", "keys", "generate", "--name", "fairway.test/audit", "--out", s.key, "--pub", s.pub)
	n := 0
	for _, batch := range []int{2, 1, 3} {
		for range batch {
			n++
			fw(t, dir, "alice", "task", "create", "T-"+strconv.Itoa(n), "--title", "work "+strconv.Itoa(n))
		}
		cp := filepath.Join(dir, fmt.Sprintf("cp%d", len(s.cps)+1))
		fw(t, dir, "alice", "audit", "checkpoint", "--key", s.key, "--out", cp)
		vkey, _ := tlog.ReadVerifierKey(s.pub)
		c, err := tlog.OpenFile(cp, vkey)
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The whole attack with real processes: a published export and proofs
// verify; the attacker rewrites one event and everything after it;
// fairway's own audit verify passes, and fairway-verify, holding only the
// public key and the checkpoints published before, names the event.
func TestAttack_RewrittenEventIsNamedAgainstPublishedCheckpoints(t *testing.T) {
	s := newSignedLog(t)
	s1, s2, s3 := s.sizes[0], s.sizes[1], s.sizes[2]
	before := filepath.Join(s.dir, "before.jsonl")
	fw(t, s.dir, "alice", "audit", "export", "--out", before)
	r := verify(t, "log", "--key", s.pub, "--checkpoint", s.cps[0], "--checkpoint", s.cps[1], "--checkpoint", s.cps[2], before)
	if r.code != 0 || r.stdout != fmt.Sprintf("VALID: %d events match the signed checkpoints [%d %d %d], root ", s3, s1, s2, s3)+b64(mustOpen(t, s.cps[2], s.pub).Root)+"\n" {
		t.Fatalf("before the attack: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	proof := filepath.Join(s.dir, "event.proof")
	os.WriteFile(proof, []byte(fw(t, s.dir, "alice", "audit", "prove", "--seq", itoa(s2), "--checkpoint", s.cps[1], "--key", s.pub, "--json")), 0o644)
	if r := verify(t, "proof", proof, "--key", s.pub, "--checkpoint", s.cps[1]); r.code != 0 || !strings.HasPrefix(r.stdout, "VALID: event "+itoa(s2)+" (task.create T-3) is in the log checkpoint fairway.test/audit/"+itoa(s2)) {
		t.Fatalf("inclusion proof: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cons := filepath.Join(s.dir, "cons.proof")
	os.WriteFile(cons, []byte(fw(t, s.dir, "alice", "audit", "consistency", "--from", s.cps[0], "--to", s.cps[2], "--key", s.pub, "--json")), 0o644)
	if r := verify(t, "proof", cons, "--key", s.pub, "--checkpoint", s.cps[0], "--checkpoint", s.cps[2]); r.code != 0 || !strings.HasPrefix(r.stdout, "VALID: the log at checkpoint "+itoa(s3)) {
		t.Fatalf("consistency proof: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A proof checked against the wrong checkpoint fails.
	if r := verify(t, "proof", proof, "--key", s.pub, "--checkpoint", s.cps[2]); r.code != 1 || !strings.Contains(r.stderr, "the proof is against a tree of "+itoa(s2)+" events, but the checkpoint signs "+itoa(s3)) {
		t.Fatalf("proof against another checkpoint: exit %d\n%s", r.code, r.stderr)
	}

	rewrite(t, s.dir, s2, false)
	if out := fw(t, s.dir, "alice", "audit", "verify"); !strings.HasPrefix(out, "audit log intact") {
		t.Fatalf("the ledger's own check after a thorough rewrite: %q", out)
	}
	after := filepath.Join(s.dir, "after.jsonl")
	fw(t, s.dir, "alice", "audit", "export", "--out", after)
	r = verify(t, "log", after, "--key", s.pub, "--checkpoint", s.cps[2], "--checkpoint", s.cps[1], "--checkpoint", s.cps[0])
	want := "fairway-verify log: NOT VALID: first bad event " + itoa(s2) + ": event " + itoa(s2) + " differs from what checkpoint fairway.test/audit/" + itoa(s2) + " signed (events 1 to " + itoa(s1) + " match checkpoint " + itoa(s1) + "): the log was rewritten\n"
	if r.code != 1 || r.stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	// With only the newest checkpoint the rewrite is still caught, and
	// bounded.
	r = verify(t, "log", after, "--key", s.pub, "--checkpoint", s.cps[2])
	if r.code != 1 || !strings.Contains(r.stderr, "events 1 to "+itoa(s3)+" do not hash to the root checkpoint fairway.test/audit/"+itoa(s3)+" signed") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// With an earlier export kept beside it, one checkpoint is enough to
	// name the event and show what it was.
	r = verify(t, "log", after, "--key", s.pub, "--checkpoint", s.cps[2], "--previous", before)
	if r.code != 1 || !strings.Contains(r.stderr, "; against "+before+", event "+itoa(s2)+" is the first that differs: it was task.create T-3 {") ||
		!strings.Contains(r.stderr, `"rewritten":"nothing to see"`) || !strings.HasSuffix(r.stderr, ": the previous log's event is signed by checkpoint "+itoa(s3)+"\n") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// An earlier export that was itself tampered with is refused.
	if r := verify(t, "log", after, "--key", s.pub, "--checkpoint", s.cps[2], "--previous", after); r.code != 1 ||
		!strings.Contains(r.stderr, "the previous log "+after+" does not match the checkpoints either") {
		t.Fatalf("a rewritten previous log: exit %d\n%s", r.code, r.stderr)
	}
	// The proof made before the attack no longer matches the log's event.
	os.WriteFile(proof, []byte(fw(t, s.dir, "alice", "audit", "prove", "--seq", itoa(s2), "--json")), 0o644)
	if r := verify(t, "proof", proof, "--key", s.pub, "--checkpoint", s.cps[2]); r.code != 1 || !strings.Contains(r.stderr, "event "+itoa(s2)+" is NOT in the log checkpoint fairway.test/audit/"+itoa(s3)+" signed") {
		t.Fatalf("a proof of the rewritten event: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestAttack_TruncatedTailIsNamed(t *testing.T) {
	s := newSignedLog(t)
	s2, s3 := s.sizes[1], s.sizes[2]
	before := filepath.Join(s.dir, "before.jsonl")
	fw(t, s.dir, "alice", "audit", "export", "--out", before)
	rewrite(t, s.dir, s2+1, true)
	after := filepath.Join(s.dir, "after.jsonl")
	fw(t, s.dir, "alice", "audit", "export", "--out", after)
	r := verify(t, "log", after, "--key", s.pub, "--checkpoint", s.cps[2])
	want := "fairway-verify log: NOT VALID: first bad event " + itoa(s2+1) + ": the log ends at event " + itoa(s2) + " but checkpoint fairway.test/audit/" + itoa(s3) + " signed " + itoa(s3) + " events: events " + itoa(s2+1) + " to " + itoa(s3) + " are missing (truncated)\n"
	if r.code != 1 || r.stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	r = verify(t, "log", after, "--key", s.pub, "--checkpoint", s.cps[2], "--previous", before)
	want = strings.TrimSuffix(want, "\n") + "; against " + before + ", the log ends before event " + itoa(s2+1) + " (task.create T-4), which is gone: the previous log's event is signed by checkpoint " + itoa(s3) + "\n"
	if r.code != 1 || r.stderr != want {
		t.Fatalf("with --previous: exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
}

func mustOpen(t *testing.T, file, pub string) *fairway.Checkpoint {
	t.Helper()
	vkey, err := tlog.ReadVerifierKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.OpenFile(file, vkey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// server runs `fairway serve` on a free loopback port until stop.
func server(t *testing.T, dir string, args ...string) (url string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(fairwayBin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "FAIRWAY_DIR="+dir)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	url = "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(url + "/api/v1/checkpoint")
		if err == nil {
			resp.Body.Close()
			return url, stop
		}
		select {
		case <-ctx.Done():
			stop()
			t.Fatalf("fairway serve did not start: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// The witness keeps the last checkpoint it saw; after the attacker
// rewrites the file and the server signs what it now holds, the next poll
// fails loudly, naming both sizes and roots, and keeps failing.
func TestWitness_CatchesARewrittenLogAtItsNextPoll(t *testing.T) {
	s := newSignedLog(t)
	s1, s3 := s.sizes[0], s.sizes[2]
	fw(t, s.dir, "alice", "actor", "create", "wit", "--kind", "service")
	fw(t, s.dir, "alice", "audit", "checkpoint", "--key", s.key)
	state := filepath.Join(s.dir, "witness.state")
	poll := func(url string) result {
		t.Helper()
		// No token: the witness holds no account on the server.
		return verify(t, "watch", url, "--key", s.pub, "--state", state, "--once")
	}
	url, stop := server(t, s.dir)
	r := poll(url)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "first checkpoint seen: fairway.test/audit/"+itoa(s3+1)+" root ") {
		t.Fatalf("first poll: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	seen := mustOpen(t, state, s.pub)
	fw(t, s.dir, "alice", "task", "create", "T-7", "--title", "honest growth")
	fw(t, s.dir, "alice", "audit", "checkpoint", "--key", s.key)
	if r = poll(url); r.code != 0 || !strings.HasPrefix(r.stdout, "checkpoint "+itoa(s3+2)+" (root ") || !strings.Contains(r.stdout, ") extends "+itoa(s3+1)+" (root "+b64(seen.Root)+")") {
		t.Fatalf("honest growth: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	seen = mustOpen(t, state, s.pub)
	stop()

	rewrite(t, s.dir, s1, false)
	// The ledger's signer signs what the file now holds.
	fw(t, s.dir, "alice", "task", "create", "T-8", "--title", "after the rewrite")
	fw(t, s.dir, "alice", "audit", "checkpoint", "--key", s.key)
	url, stop = server(t, s.dir)
	defer stop()
	for range 2 {
		r = poll(url)
		want := "fairway-verify watch: NOT VALID: the log was REWRITTEN: checkpoint " + itoa(seen.Size+1) + " (root "
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, ") does NOT extend checkpoint "+itoa(seen.Size)+" (root "+b64(seen.Root)+")") ||
			!strings.Contains(r.stderr, "(state "+state+" kept unchanged)") {
			t.Fatalf("poll after the rewrite: exit %d\n%s%s\nwant %q…", r.code, r.stdout, r.stderr, want)
		}
	}
	if kept := mustOpen(t, state, s.pub); kept.Size != seen.Size || !bytes.Equal(kept.Root, seen.Root) {
		t.Fatalf("the state moved to %d after a failed poll", kept.Size)
	}
}

func TestUsage_ExitCodesAndHelp(t *testing.T) {
	for _, c := range []struct {
		args       []string
		code       int
		out, errIn string
	}{
		{[]string{"packet", "--help"}, 0, "usage: fairway-verify packet DIR --key KEY [--json]\nexample: fairway-verify packet OPS-FIX-001.packet --key audit.pub\n", ""},
		{[]string{"packet"}, 2, "", "fairway-verify packet: want the packet folder DIR, got 0 argument(s)\n"},
		{[]string{"packet", t.TempDir()}, 2, "", "fairway-verify packet: --key is required: the public verifier key, or a file holding it\n"},
		{[]string{"log", "x.jsonl", "--key", "nokey"}, 2, "", "fairway-verify log: --key: open nokey: no such file or directory\n"},
		{[]string{"watch", "ftp://example", "--key", "nokey"}, 2, "", "fairway-verify watch: --key: open nokey"},
		{[]string{"frobnicate"}, 2, "", "fairway-verify: \"frobnicate\" is not a command\n"},
	} {
		r := verify(t, c.args...)
		if r.code != c.code || !strings.HasSuffix(r.stdout, c.out) || !strings.HasPrefix(r.stderr, c.errIn) {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout ending %q, stderr starting %q", c.args, r.code, r.stdout, r.stderr, c.code, c.out, c.errIn)
		}
	}
}

// The witness trusts nothing the server says: an error answer's body is
// shown quoted and cut short, so a hostile server (or anyone on a plain
// http path) cannot write terminal escape sequences, or megabytes, into
// the operator's terminal or log.
func TestWitness_ErrorBodyIsQuotedAndShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "\x1b]0;owned\x07\x1b[2Jerror"+strings.Repeat("x", 100000))
	}))
	defer srv.Close()
	s := newSignedLog(t)
	r := verify(t, "watch", srv.URL, "--key", s.pub, "--state", filepath.Join(t.TempDir(), "state"), "--once")
	if r.code != 1 || strings.ContainsAny(r.stderr, "\x1b\x07") || len(r.stderr) > 2000 || !strings.Contains(r.stderr, "500 Internal Server Error") {
		t.Fatalf("exit %d, stderr %d bytes: %.300q", r.code, len(r.stderr), r.stderr)
	}
}

// `fairway audit prove --json` and `audit log --json` print each event's
// change byte for byte as the ledger stored it (as `audit export` does),
// so the printed event matches its hash and its proof verifies as it is:
// no re-compacting, by fairway-verify or by hand with tlog.
func TestProof_JSONOutputVerifiesAsPrinted(t *testing.T) {
	s := newSignedLog(t)
	seq := s.sizes[1]
	// An event whose change nests objects and arrays: indentation would
	// re-space it.
	fw(t, s.dir, "alice", "task", "create", "T-NEST", "--title", "nested {braces} & <tags>", "--surface", "edge", "--label", "a", "--label", "b")
	stored := map[int64]string{}
	for _, line := range strings.Split(strings.TrimSpace(fw(t, s.dir, "alice", "audit", "export")), "\n") {
		var e struct {
			Seq    int64           `json:"seq"`
			Change json.RawMessage `json:"change"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		stored[e.Seq] = string(e.Change)
	}
	out := fw(t, s.dir, "alice", "audit", "prove", "--seq", itoa(seq), "--checkpoint", s.cps[1], "--key", s.pub, "--json")
	if !strings.Contains(out, "\n  \"seq\": ") || !strings.Contains(out, `"change": `+stored[seq]+",\n") {
		t.Fatalf("the proof is not indented with the change as stored (%s):\n%s", stored[seq], out)
	}
	var p fairway.InclusionProof
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	cp := mustOpen(t, s.cps[1], s.pub)
	if p.Event.ComputeHash() != p.Event.Hash {
		t.Fatalf("the printed event does not match its hash as printed: change %s", p.Event.Change)
	}
	if err := tlog.VerifyInclusion(seq-1, cp.Size, tlog.LeafHash(p.Event), p.Hashes, cp.Root); err != nil {
		t.Fatalf("the printed proof, checked by hand: %v", err)
	}
	file := filepath.Join(s.dir, "event.proof")
	os.WriteFile(file, []byte(out), 0o644)
	if r := verify(t, "proof", file, "--key", s.pub, "--checkpoint", s.cps[1]); r.code != 0 || !strings.HasPrefix(r.stdout, "VALID: event "+itoa(seq)) {
		t.Fatalf("fairway-verify on the printed proof: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	var events []*fairway.AuditEvent
	if err := json.Unmarshal([]byte(fw(t, s.dir, "alice", "audit", "log", "--json", "--limit", "1000")), &events); err != nil {
		t.Fatal(err)
	}
	nested := false
	for _, e := range events {
		if string(e.Change) != stored[e.Seq] || e.ComputeHash() != e.Hash {
			t.Errorf("audit log --json: event %d's change %s, stored %s", e.Seq, e.Change, stored[e.Seq])
		}
		nested = nested || e.Subject == "T-NEST" && strings.Contains(string(e.Change), `["a","b"]`)
	}
	if len(events) != len(stored) || !nested {
		t.Fatalf("audit log --json printed %d events of %d (the nested one: %t)", len(events), len(stored), nested)
	}
}
