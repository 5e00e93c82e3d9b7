package secret_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"fairway/secret"
)

// Fixtures are fake secrets in the issuers' formats.
var fixtures = []struct {
	rule, text, secret string
}{
	{"private-key", "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"},
	{"private-key", "a\n" + pemKey + "\nafter\n", pemKey},
	{"private-key", "  key: |\r\n    -----BEGIN EC PRIVATE KEY-----\r\n    Proc-Type: 4,ENCRYPTED\r\n\r\n    MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oFeC2T0oMDLloAoGCCqGSM49\r\n    AwEH\r\n    -----END EC PRIVATE KEY-----\r\nnext: 1\r\n",
		"-----BEGIN EC PRIVATE KEY-----\r\n    Proc-Type: 4,ENCRYPTED\r\n\r\n    MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oFeC2T0oMDLloAoGCCqGSM49\r\n    AwEH\r\n    -----END EC PRIVATE KEY-----"},
	{"private-key", `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "x": 1}` + "\n",
		`-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----`},
	{"private-key", "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN RSA PRIVATE KEY-----"},
	{"aws-access-key-id", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n", "AKIAIOSFODNN7EXAMPLE"},
	{"aws-secret-access-key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	{"github-token", "token ghp_1234567890abcdefghijABCDEFGHIJ123456 used\n", "ghp_1234567890abcdefghijABCDEFGHIJ123456"},
	{"github-fine-grained-token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF\n", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF"},
	{"gitlab-token", "CI_TOKEN glpat-abcdefghij0123456789\n", "glpat-abcdefghij0123456789"},
	{"slack-token", "slack: xoxb-123456789012-abcdefABCDEF\n", "xoxb-123456789012-abcdefABCDEF"},
	{"google-api-key", "key=AIzaSyA1234567890abcdefghijklmnopqrstuv\n", "AIzaSyA1234567890abcdefghijklmnopqrstuv"},
	{"stripe-key", "STRIPE sk_live_abcdefghijklmnopqrstuvwx\n", "sk_live_abcdefghijklmnopqrstuvwx"},
	{"jwt", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX2hlcmU\n", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX2hlcmU"},
	{"password-assignment", "DB_PASSWORD=hunter2hunter2\n", "hunter2hunter2"},
	{"password-assignment", `{"client_secret": "s3cr3t-v4lue-123"}` + "\n", "s3cr3t-v4lue-123"},
	{"url-credentials", "cloning https://deploy:Sup3rS3cret@git.example.com/repo.git\n", "Sup3rS3cret"},
	{"high-entropy-string", "value Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA ok\n", "Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA"},
}

// pemKey is a made-up key block: its last base64 line is short, and both
// it and the END line must be redacted with the rest.
const pemKey = "-----BEGIN RSA PRIVATE KEY-----\n" +
	"MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
	"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
	"LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n" +
	"9w==\n" +
	"-----END RSA PRIVATE KEY-----"

func scanChunks(t *testing.T, text string, chunk int, redact bool) ([]secret.Finding, string) {
	t.Helper()
	var out bytes.Buffer
	var s *secret.Scanner
	if redact {
		s = secret.NewScanner(&out)
	} else {
		s = secret.NewScanner(nil)
	}
	for i := 0; i < len(text); i += chunk {
		if _, err := s.Write([]byte(text[i:min(i+chunk, len(text))])); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s.Findings(), out.String()
}

func TestScanner_FindsEachKindWholeAndSplitAcrossWrites(t *testing.T) {
	for _, f := range fixtures {
		for _, chunk := range []int{1 << 16, 7, 1} {
			findings, redacted := scanChunks(t, f.text, chunk, true)
			if len(findings) != 1 || findings[0].Rule != f.rule {
				t.Errorf("%s (chunks of %d): findings %+v", f.rule, chunk, findings)
				continue
			}
			fd := findings[0]
			if got := f.text[fd.Offset : fd.Offset+int64(fd.Length)]; got != f.secret {
				t.Errorf("%s: finding covers %q, want %q", f.rule, got, f.secret)
			}
			if strings.Contains(redacted, f.secret) || !strings.Contains(redacted, "[REDACTED:"+f.rule+"]") {
				t.Errorf("%s: redacted output %q", f.rule, redacted)
			}
			if want := strings.Replace(f.text, f.secret, "[REDACTED:"+f.rule+"]", 1); redacted != want {
				t.Errorf("%s: redacted %q, want %q", f.rule, redacted, want)
			}
		}
	}
}

func TestScanner_ReportsLineAndColumn(t *testing.T) {
	text := "line one\nline two\n  export TOKEN=ghp_1234567890abcdefghijABCDEFGHIJ123456\n"
	findings, _ := scanChunks(t, text, 5, false)
	if len(findings) != 1 {
		t.Fatalf("findings %+v", findings)
	}
	if f := findings[0]; f.Line != 3 || f.Column != 16 || f.String() != "github-token at line 3, column 16" {
		t.Fatalf("finding %+v", f)
	}
}

func TestScanner_LeavesOrdinaryEvidenceAlone(t *testing.T) {
	clean := strings.Join([]string{
		"commit 9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"--- PASS: TestGate_ClosesOnlyWithIndependentApproval (0.00s)",
		"password: ${{ secrets.DB_PASSWORD }}",
		"token = env.GITHUB_TOKEN",
		"PASSWORD=********",
		"See https://example.com/docs/path/to/page for details",
		"OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001 blocked on capacity",
	}, "\n") + "\n"
	findings, redacted := scanChunks(t, clean, 13, true)
	if len(findings) != 0 {
		t.Fatalf("false positives: %+v", findings)
	}
	if redacted != clean {
		t.Fatalf("clean text changed by redaction")
	}
}

func TestScanner_LongLinesAreScannedInBoundedPieces(t *testing.T) {
	// A secret sits across the boundary of the first MaxLine piece.
	tok := "ghp_1234567890abcdefghijABCDEFGHIJ123456"
	prefix := strings.Repeat("a ", (secret.MaxLine-secret.Overlap-10)/2)
	text := prefix + tok + strings.Repeat(" b", secret.MaxLine) + " " + tok + "\n"
	findings, redacted := scanChunks(t, text, 4096, true)
	if len(findings) != 2 || findings[0].Rule != "github-token" || findings[0].Offset != int64(len(prefix)) {
		t.Fatalf("findings %+v", findings)
	}
	if strings.Contains(redacted, tok) || strings.Count(redacted, "[REDACTED:github-token]") != 2 {
		t.Fatalf("redaction missed a token in a long line")
	}
	if len(redacted) != len(text)-2*len(tok)+2*len("[REDACTED:github-token]") {
		t.Fatalf("redacted length %d", len(redacted))
	}
}

func BenchmarkScanner(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 1<<20; i++ {
		fmt.Fprintf(&buf, "2026-11-29T10:00:%02dZ INFO request id=%d path=/v1/allocations/%d status=200 took=%dms\n", i%60, i, i*7, i%97)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s := secret.NewScanner(nil)
		s.Write(data)
		s.Close()
	}
}
