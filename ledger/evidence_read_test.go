package ledger_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"fairway"
)

// TestOpenEvidence_RefusesBytesChangedInTheBlobStore: evidence is
// content-addressed, so a reader that reads a part to its end gets the
// recorded bytes or an error naming the record, never other bytes, and a
// blob grown past its recorded size fails as soon as it is.
func TestOpenEvidence_RefusesBytesChangedInTheBlobStore(t *testing.T) {
	const body = "smoke passed: 12 of 12\n"
	tests := []struct {
		name    string
		replace string // "" leaves the blob as recorded
		want    string // "" wants the bytes back
	}{
		{name: "intact"},
		{name: "same size, other bytes", replace: "smoke FAILED: 0 of 12 \n", want: "holds 23 bytes hashing to sha256:"},
		{name: "cut short", replace: "smoke", want: "holds 5 bytes hashing to sha256:"},
		{name: "grown", replace: body + strings.Repeat("x", 1<<20), want: "holds more than the 23 bytes recorded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProofLedger(t, "")
			if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "RUN-1", Title: "Smoke the runners"}); err != nil {
				t.Fatal(err)
			}
			e := p.add(t, "RUN-1", fairway.EvidenceAdd{Kind: "smoke", Filename: "smoke.txt"}, body)
			if tc.replace != "" {
				path := p.blobPath(e.Digest)
				os.Chmod(path, 0o644)
				if err := os.WriteFile(path, []byte(tc.replace), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rc, err := p.l.OpenEvidence(context.Background(), e.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if tc.want == "" {
				if err != nil || string(got) != body {
					t.Fatalf("read %q, %v; want the recorded bytes", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("read %d changed bytes with no error", len(got))
			}
			for _, part := range []string{"evidence " + e.ID + "'s content", tc.want, "fairway evidence verify"} {
				if !strings.Contains(err.Error(), part) {
					t.Fatalf("error %q does not say %q", err, part)
				}
			}
			if len(got) > len(body)+64<<10 {
				t.Fatalf("read %d bytes of a blob recorded as %d before failing", len(got), len(body))
			}
			// A whole read through the service's helper fails alike.
			if _, err := fairway.ReadEvidence(context.Background(), p.l, e.ID, fairway.PartContent, 16<<20); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadEvidence: %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// A command's streams are checked against their own recorded sizes and
// digests, as the content is.
func TestOpenEvidence_ChecksACommandsStreams(t *testing.T) {
	p := newProofLedger(t, "")
	if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "RUN-1", Title: "Run the suite"}); err != nil {
		t.Fatal(err)
	}
	e, err := p.l.AddEvidence(p.codex, fairway.EvidenceAdd{Task: "RUN-1", Kind: "command-result", Command: ran(0, "go", "test")},
		fairway.EvidenceParts{Content: strings.NewReader("ok\n"), Stdout: strings.NewReader("ok  fairway 1.2s\n"), Stderr: strings.NewReader("warning: slow\n")})
	if err != nil {
		t.Fatal(err)
	}
	read := func(part string) (string, error) {
		rc, err := p.l.OpenEvidence(context.Background(), e.ID, part)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if got, err := read(fairway.PartStdout); err != nil || got != "ok  fairway 1.2s\n" {
		t.Fatalf("stdout: %q %v", got, err)
	}
	if got, err := read(fairway.PartStderr); err != nil || got != "warning: slow\n" {
		t.Fatalf("stderr: %q %v", got, err)
	}
	path := p.blobPath(e.Command.StderrDigest)
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, []byte("warning: fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := read(fairway.PartStderr); err == nil || !strings.Contains(err.Error(), "evidence "+e.ID+"'s stderr") {
		t.Fatalf("changed stderr: %v", err)
	}
}
