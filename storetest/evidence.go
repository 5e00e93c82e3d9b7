package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
)

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// blobFiles lists every file under the blob folder, staged or stored.
func (e *env) blobFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(e.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.blobDir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func (e *env) read(t *testing.T, id, part string) string {
	t.Helper()
	rc, err := e.l.OpenEvidence(ctx, id, part)
	if err != nil {
		t.Fatalf("open %s %s: %v", id, part, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func testEvidenceRecorded(t *testing.T, e *env) {
	e.task(t, "EV-TASK-1")
	body := "screenshot-bytes\x00\x01 not really a png\n"
	before := e.auditSeq(t)
	ev, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "EV-TASK-1", Kind: "uat-report", Filename: "uat.txt", ExpectedDigest: digestOf(body)},
		fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Digest != digestOf(body) || ev.Size != int64(len(body)) || ev.RecordedBy != "codex" || ev.RecordedByKind != "agent" || !strings.HasPrefix(ev.ID, "EV-") {
		t.Fatalf("evidence = %+v", ev)
	}
	if got := e.read(t, ev.ID, ""); got != body {
		t.Fatalf("bytes back = %q", got)
	}
	got, err := e.l.GetEvidence(ctx, ev.ID)
	if err != nil || !reflect.DeepEqual(got, ev) {
		t.Fatalf("get = %+v, %v\nwant %+v", got, err, ev)
	}
	// The same bytes again are stored once.
	ev2, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "EV-TASK-1", Kind: "uat-report", Supersedes: ev.ID},
		fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if ev2.Digest != ev.Digest || ev2.ID == ev.ID || ev2.Supersedes != ev.ID {
		t.Fatalf("second record = %+v", ev2)
	}
	if files := e.blobFiles(t); len(files) != 1 {
		t.Fatalf("blob files = %v, want the one blob", files)
	}
	events, _ := e.l.AuditLog(ctx, fairway.AuditFilter{AfterSeq: before})
	if len(events) != 2 || events[0].Action != "evidence.add" || events[0].Subject != "EV-TASK-1" || events[0].Actor != "codex" ||
		!strings.Contains(string(events[0].Change), ev.ID) {
		t.Fatalf("audit = %+v", events)
	}
	list, err := e.l.ListEvidence(ctx, fairway.EvidenceFilter{Task: "EV-TASK-1"})
	if err != nil || len(list) != 2 || list[0].ID != ev.ID {
		t.Fatalf("list = %v, %v", list, err)
	}
	// A record from another task cannot be superseded here.
	e.task(t, "EV-TASK-2")
	_, err = e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "EV-TASK-2", Kind: "log", Supersedes: ev.ID}, fairway.EvidenceParts{Content: strings.NewReader("x")})
	wantCode(t, err, fairway.EINVALID)
}

const awsLine = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"

func testEvidenceSecrets(t *testing.T, e *env) {
	e.task(t, "SEC-1")
	before := e.auditSeq(t)
	// uat-report: policy refuses.
	_, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SEC-1", Kind: "uat-report", Filename: "env.txt"},
		fairway.EvidenceParts{Content: strings.NewReader("ok\n" + awsLine)})
	wantMessage(t, err, fairway.EFORBIDDEN, "evidence refused: the content holds a secret (aws-secret-access-key, line 2, column 25); policy refuses secrets in uat-report evidence, so remove it and record again")
	if files := e.blobFiles(t); len(files) != 0 {
		t.Fatalf("refused evidence left blobs: %v", files)
	}
	events, _ := e.l.AuditLog(ctx, fairway.AuditFilter{AfterSeq: before})
	if len(events) != 1 || events[0].Action != "evidence.refused" {
		t.Fatalf("audit = %+v", events)
	}
	change := string(events[0].Change)
	if !strings.Contains(change, `"rule":"aws-secret-access-key"`) || !strings.Contains(change, `"line":2`) || strings.Contains(change, "wJalr") {
		t.Fatalf("refusal audit must name the rule and place, never the secret: %s", change)
	}
	// log: policy redacts; the stored bytes and stdout part are masked.
	ev, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SEC-1", Kind: "command-result",
		Command: &fairway.Command{Argv: []string{"deploy"}, Started: time.Unix(1, 0), Ended: time.Unix(2, 0)}},
		fairway.EvidenceParts{Content: strings.NewReader("start\n" + awsLine), Stdout: strings.NewReader(awsLine), Stderr: strings.NewReader("warn\n")})
	if err != nil {
		t.Fatal(err)
	}
	want := "start\naws_secret_access_key = [REDACTED:aws-secret-access-key]\n"
	if got := e.read(t, ev.ID, ""); got != want {
		t.Fatalf("redacted content = %q", got)
	}
	if got := e.read(t, ev.ID, "stdout"); got != "aws_secret_access_key = [REDACTED:aws-secret-access-key]\n" {
		t.Fatalf("redacted stdout = %q", got)
	}
	if got := e.read(t, ev.ID, "stderr"); got != "warn\n" {
		t.Fatalf("stderr = %q", got)
	}
	wantFindings := []fairway.SecretFinding{{Part: "content", Rule: "aws-secret-access-key", Line: 2, Column: 25}, {Part: "stdout", Rule: "aws-secret-access-key", Line: 1, Column: 25}}
	if !ev.Scan.Redacted || !reflect.DeepEqual(ev.Scan.Findings, wantFindings) || ev.Digest != digestOf(want) {
		t.Fatalf("scan = %+v digest %s", ev.Scan, ev.Digest)
	}
	for _, f := range e.blobFiles(t) {
		b, _ := os.ReadFile(filepath.Join(e.blobDir, f))
		if strings.Contains(string(b), "wJalr") {
			t.Fatalf("blob %s holds the secret", f)
		}
	}
}

// testEvidenceMediaHeaderScanned records text behind image magic bytes:
// the header must not switch the scan off, for a kind the policy refuses
// and for one it redacts.
func testEvidenceMediaHeaderScanned(t *testing.T, e *env) {
	e.task(t, "SEC-2")
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n9w==\n-----END RSA PRIVATE KEY-----\n"
	for _, c := range []struct {
		name, kind, header, body, rule, redacted string
	}{
		{"gif then aws key, refused", "screenshot", "GIF89a", "\x01\x00\x01\x00\n" + awsLine, "aws-secret-access-key", ""},
		{"png then pem key, refused", "screenshot", "\x89PNG\r\n\x1a\n", "\n" + pem, "private-key", ""},
		{"jpeg then aws key id, refused", "uat-report", "\xff\xd8\xff\xe0", "\nid AKIAIOSFODNN7EXAMPLE\n", "aws-access-key-id", ""},
		{"gif then aws key, redacted", "log", "GIF89a", "\x01\x00\x01\x00\n" + awsLine,
			"aws-secret-access-key", "GIF89a\x01\x00\x01\x00\naws_secret_access_key = [REDACTED:aws-secret-access-key]\n"},
		{"gif then pem key, redacted", "log", "GIF89a", "\x01\x00\n" + pem, "private-key", "GIF89a\x01\x00\n[REDACTED:private-key]\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SEC-2", Kind: c.kind, Filename: "shot.gif"},
				fairway.EvidenceParts{Content: strings.NewReader(c.header + c.body)})
			if c.redacted == "" {
				if err == nil || fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(err.Error(), "("+c.rule+", line ") {
					t.Fatalf("err = %v, want a refusal naming %s", err, c.rule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := e.read(t, ev.ID, ""); got != c.redacted {
				t.Fatalf("stored %q, want %q", got, c.redacted)
			}
			if !ev.Scan.Scanned || !ev.Scan.Redacted || len(ev.Scan.Findings) != 1 || ev.Scan.Findings[0].Rule != c.rule {
				t.Fatalf("scan = %+v", ev.Scan)
			}
		})
	}
}

// failingFile fails like a full disk after limit bytes.
type failingFile struct {
	*os.File
	limit int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n, _ := f.File.Write(p[:f.limit])
		f.limit = 0
		return n, errors.New("no space left on device")
	}
	f.limit -= len(p)
	return f.File.Write(p)
}

func testEvidenceFailures(t *testing.T, e *env) {
	e.task(t, "FAIL-1")
	before := e.auditSeq(t)
	big := strings.Repeat("log line\n", 300000)
	cases := []struct {
		name string
		add  fairway.EvidenceAdd
		body io.Reader
		code string
		msg  string
	}{
		{"missing task", fairway.EvidenceAdd{Task: "NOPE-1", Kind: "log"}, strings.NewReader("x"), fairway.ENOTFOUND, `task "NOPE-1" not found`},
		{"bad kind", fairway.EvidenceAdd{Task: "FAIL-1", Kind: "Log File"}, strings.NewReader("x"), fairway.EINVALID, ""},
		{"digest mismatch", fairway.EvidenceAdd{Task: "FAIL-1", Kind: "log", ExpectedDigest: digestOf("other")}, strings.NewReader("x"), fairway.EINVALID,
			"expected_digest: the content received has digest " + digestOf("x") + ", not " + digestOf("other") + ": it was changed or cut short on the way; send it again"},
		{"unreadable stream", fairway.EvidenceAdd{Task: "FAIL-1", Kind: "log"}, io.MultiReader(strings.NewReader(big), errReader{}), fairway.EINTERNAL, ""},
		{"no bytes", fairway.EvidenceAdd{Task: "FAIL-1", Kind: "log"}, nil, fairway.EINVALID, "content: evidence needs its bytes"},
	}
	for _, c := range cases {
		_, err := e.l.AddEvidence(e.alice, c.add, fairway.EvidenceParts{Content: c.body})
		if fairway.ErrorCode(err) != c.code || c.msg != "" && fairway.ErrorMessage(err) != c.msg {
			t.Errorf("%s: err = %v (%s), want %s %q", c.name, err, fairway.ErrorCode(err), c.code, c.msg)
		}
	}
	// A disk that fills up mid-write.
	orig := e.blobs.CreateTemp
	e.blobs.CreateTemp = func(dir, pattern string) (blob.File, error) {
		f, err := os.CreateTemp(dir, pattern)
		return &failingFile{File: f, limit: 1 << 20}, err
	}
	_, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "FAIL-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader(big)})
	e.blobs.CreateTemp = orig
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("disk full: err = %v", err)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Fatalf("failures left blobs: %v", files)
	}
	if list, _ := e.l.ListEvidence(ctx, fairway.EvidenceFilter{Task: "FAIL-1"}); len(list) != 0 {
		t.Fatalf("failures left records: %v", list)
	}
	if after := e.auditSeq(t); after != before {
		t.Fatalf("failures wrote %d audit events", after-before)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func testEvidenceVerify(t *testing.T, e *env) {
	e.task(t, "VER-1")
	a, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "VER-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("one\n")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "VER-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("two\n")})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.l.VerifyEvidence(ctx)
	if err != nil || !v.OK || v.Checked != 2 {
		t.Fatalf("verify = %+v %v", v, err)
	}
	path := filepath.Join(e.blobDir, "sha256", b.Digest[7:9], b.Digest[7:])
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, []byte("tw0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.blobDir, "sha256", a.Digest[7:9], a.Digest[7:]))
	v, err = e.l.VerifyEvidence(ctx)
	if err != nil || v.OK || len(v.Problems) != 2 {
		t.Fatalf("verify after tampering = %+v %v", v, err)
	}
	if p := v.Problems[0]; p.Evidence != a.ID || p.Problem != "the blob is missing" {
		t.Fatalf("problem 0 = %+v", p)
	}
	if p := v.Problems[1]; p.Evidence != b.ID || p.Problem != "the blob's bytes hash to "+digestOf("tw0\n") {
		t.Fatalf("problem 1 = %+v", p)
	}
}

func testEvidenceReports(t *testing.T, e *env) {
	e.task(t, "REP-1")
	junit := `<?xml version="1.0"?>
<testsuites><testsuite name="kind-smoke">
<testcase name="auth"/><testcase name="catalog"><failure message="500"/></testcase>
<testcase name="billing"><skipped/></testcase><testcase name="terminal"><error/></testcase><testcase name="admin"></testcase>
</testsuite></testsuites>`
	ev, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "REP-1", Kind: "uat-report", Filename: "junit.xml"}, fairway.EvidenceParts{Content: strings.NewReader(junit)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&fairway.Summary{Format: "junit", Tests: 5, Passed: 2, Failed: 1, Errors: 1, Skipped: 1}); !reflect.DeepEqual(ev.Summary, want) {
		t.Fatalf("junit summary = %+v", ev.Summary)
	}
	sarif := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"trivy"}},"results":[{"level":"error"},{"level":"warning"},{"level":"error"},{}]}]}`
	ev, err = e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "REP-1", Kind: "scan-output", Filename: "scan.sarif"}, fairway.EvidenceParts{Content: strings.NewReader(sarif)})
	if err != nil {
		t.Fatal(err)
	}
	want := &fairway.Summary{Format: "sarif", Findings: map[string]int{"error": 2, "warning": 2}, Tools: []string{"trivy"}}
	if !reflect.DeepEqual(ev.Summary, want) || ev.MediaType != "application/sarif+json" {
		t.Fatalf("sarif summary = %+v (%s)", ev.Summary, ev.MediaType)
	}
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 64)
	ev, err = e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "REP-1", Kind: "screenshot", Filename: "portal.png"}, fairway.EvidenceParts{Content: strings.NewReader(png)})
	if err != nil {
		t.Fatal(err)
	}
	if ev.MediaType != "image/png" || !ev.Scan.Scanned || ev.Scan.Skipped != "" || ev.Summary != nil {
		t.Fatalf("png = %+v", ev)
	}
}

func testClaimsAndContext(t *testing.T, e *env) {
	e.task(t, "CLM-1")
	c, err := e.l.AddClaim(e.codex, fairway.ClaimAdd{Task: "CLM-1", Text: "  tests pass; done "})
	if err != nil || c.Text != "tests pass; done" || c.ActorKind != "agent" {
		t.Fatalf("claim = %+v %v", c, err)
	}
	list, err := e.l.ListClaims(ctx, "CLM-1")
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("claims = %+v %v", list, err)
	}
	if ev, _ := e.l.ListEvidence(ctx, fairway.EvidenceFilter{Task: "CLM-1"}); len(ev) != 0 {
		t.Fatalf("a claim became evidence: %+v", ev)
	}
	_, err = e.l.AddClaim(e.codex, fairway.ClaimAdd{Task: "CLM-1", Text: " "})
	wantCode(t, err, fairway.EINVALID)
	transcript, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "CLM-1", Kind: fairway.EvidenceContext, Filename: "chat.md"},
		fairway.EvidenceParts{Content: strings.NewReader("agent: all tests pass, task done\n")})
	if err != nil {
		t.Fatal(err)
	}
	if fairway.CountsAsProof(transcript) {
		t.Fatal("a transcript counts as proof")
	}
	log, _ := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "CLM-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("ok\n")})
	if !fairway.CountsAsProof(log) {
		t.Fatal("a log does not count as proof")
	}
}

func testEvidenceSummaries(t *testing.T, e *env) {
	e.task(t, "SUM-1")
	ev, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SUM-1", Kind: "log", Note: "n"}, fairway.EvidenceParts{Content: strings.NewReader("x\n")})
	if err != nil {
		t.Fatal(err)
	}
	err = e.l.Store().View(ctx, func(tx fairway.Tx) error {
		n, chain, err := tx.ProofChain("SUM-1")
		if err != nil || n != 1 || chain != fairway.ChainProof("", ev) {
			t.Fatalf("proof chain = %d %q %v", n, chain, err)
		}
		latest, err := tx.LatestProof("SUM-1", "log")
		want, _ := tx.Evidence(ev.ID)
		if want == nil || want.Note != "n" {
			t.Fatalf("evidence %s read back as %+v", ev.ID, want)
		}
		if err != nil || len(latest) != 1 || !reflect.DeepEqual(latest[0], want) {
			t.Fatalf("latest proof = %+v %v, want %+v", latest, err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Context evidence leaves the chain alone; a correction supersedes.
	if _, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SUM-1", Kind: "context"}, fairway.EvidenceParts{Content: strings.NewReader("chat\n")}); err != nil {
		t.Fatal(err)
	}
	fix, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "SUM-1", Kind: "log", Supersedes: ev.ID}, fairway.EvidenceParts{Content: strings.NewReader("y\n")})
	if err != nil {
		t.Fatal(err)
	}
	err = e.l.Store().View(ctx, func(tx fairway.Tx) error {
		n, chain, _ := tx.ProofChain("SUM-1")
		if n != 2 || chain != fairway.ChainProof(fairway.ChainProof("", ev), fix) {
			t.Fatalf("chain after context and correction = %d %q", n, chain)
		}
		latest, _ := tx.LatestProof("SUM-1", "log")
		if len(latest) != 1 || latest[0].ID != fix.ID {
			t.Fatalf("latest proof after correction = %+v", latest)
		}
		// Several kinds at once: each as LatestProof gives it, a kind
		// with no record empty, a kind asked twice given twice.
		kinds := []string{"log", "none-such", "context", "log"}
		lists, err := tx.LatestProofs("SUM-1", kinds)
		if err != nil || len(lists) != len(kinds) {
			t.Fatalf("latest proofs = %d lists %v, want %d", len(lists), err, len(kinds))
		}
		for i, k := range kinds {
			one, _ := tx.LatestProof("SUM-1", k)
			if len(one) != len(lists[i]) || len(one) > 0 && !reflect.DeepEqual(one, lists[i]) {
				t.Fatalf("latest proofs of %s = %+v, want %+v", k, lists[i], one)
			}
		}
		if len(lists[0]) != 1 || len(lists[1]) != 0 || len(lists[2]) != 1 {
			t.Fatalf("latest proofs = %d %d %d records, want 1 0 1", len(lists[0]), len(lists[1]), len(lists[2]))
		}
		who, _ := tx.EvidenceRecorders("SUM-1")
		if strings.Join(who, ",") != "alice,codex" {
			t.Fatalf("recorders = %v", who)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testProofLinkKeptAsGiven: the store keeps the proof chain head the
// ledger computed, leaves it alone when given none, and returns whole
// records (exit code, summary) to the gate.
func testProofLinkKeptAsGiven(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	update(t, s, func(tx fairway.Tx) error { return tx.InsertTask(newTask("LINK-1", at)) })
	run := &fairway.Evidence{ID: "EV-000000000001", Task: "LINK-1", Kind: "command-result", Digest: digestOf("FAIL\n"), Size: 5,
		RecordedBy: "codex", RecordedByKind: "agent", RecordedAt: at,
		Command: &fairway.Command{Argv: []string{"go", "test"}, Dir: "src", ExitCode: 1, Started: at, Ended: at}}
	report := &fairway.Evidence{ID: "EV-000000000002", Task: "LINK-1", Kind: "command-result", Digest: digestOf("<testsuite/>"), Size: 12,
		RecordedBy: "codex", RecordedByKind: "agent", RecordedAt: at.Add(time.Second),
		Summary: &fairway.Summary{Format: "junit", Tests: 2, Passed: 1, Failed: 1}}
	given := &fairway.ProofLink{Count: 7, Chain: digestOf("any head the ledger chose")}
	update(t, s, func(tx fairway.Tx) error { return tx.InsertEvidence(run, given) })
	update(t, s, func(tx fairway.Tx) error { return tx.InsertEvidence(report, nil) })
	wantCode(t, s.Update(ctx, func(tx fairway.Tx) error { return tx.InsertEvidence(run, nil) }), fairway.ECONFLICT)
	err := s.View(ctx, func(tx fairway.Tx) error {
		n, chain, err := tx.ProofChain("LINK-1")
		if err != nil || n != given.Count || chain != given.Chain {
			t.Fatalf("proof chain = %d %q %v, want %+v", n, chain, err, given)
		}
		latest, err := tx.LatestProof("LINK-1", "command-result")
		if err != nil || len(latest) != 2 || !reflect.DeepEqual(latest[0], report) || !reflect.DeepEqual(latest[1], run) {
			t.Fatalf("latest proof = %+v %v, want the two whole records newest first", latest, err)
		}
		lists, err := tx.LatestProofs("LINK-1", []string{"command-result"})
		if err != nil || len(lists) != 1 || !reflect.DeepEqual(lists[0], latest) {
			t.Fatalf("latest proofs = %+v %v, want %+v", lists, err, latest)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
