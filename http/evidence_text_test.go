package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"fairway"
	fairwayhttp "fairway/http"
)

// An agent's evidence over the API has its command line, working dir,
// signal, source branch and environment checked as every other text
// field is: control characters (terminal escapes, NUL) and bidirectional
// overrides are refused, naming the field, and nothing is written (JSON
// carries no invalid UTF-8; TestEvidenceAdd_ChecksCommandText covers it
// in local mode). A newline inside one argument (sh -c "a\nb") is fine.
func TestEvidence_CommandSourceAndEnvironmentTextIsChecked(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	alice := fairwayhttp.NewClient(e.srv.URL, e.token)
	if _, err := alice.CreateTask(ctx, fairway.TaskCreate{Key: "EVT-1", Title: "evidence text"}); err != nil {
		t.Fatal(err)
	}
	codex := fairwayhttp.NewClient(e.srv.URL, e.agent)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clean := func() fairway.EvidenceAdd {
		return fairway.EvidenceAdd{Task: "EVT-1", Kind: fairway.EvidenceCommandResult,
			Command: &fairway.Command{Argv: []string{"sh", "-c", "go vet ./...\ngo test ./..."}, Dir: "/src/app", Started: at, Ended: at.Add(time.Second)},
			Source:  &fairway.SourceState{Commit: "0123abcd", Branch: "main"},
			Environment: &fairway.Environment{OS: "linux", Arch: "amd64", Host: "build-1", Tools: map[string]string{"go": "go version go1.26 linux/amd64"},
				EnvNames: []string{"TERM"}, EnvValues: map[string]string{"TERM": "xterm"}, Fingerprint: "sha256:00"}}
	}
	cases := []struct {
		name, field, says string
		edit              func(a *fairway.EvidenceAdd)
	}{
		{"argv: a terminal escape", "command.argv[2]", "ESC (U+001B)", func(a *fairway.EvidenceAdd) { a.Command.Argv[2] = "echo \x1b]52;c;cHduZWQ=\x07" }},
		{"argv: a bidi override", "command.argv[1]", "U+202E", func(a *fairway.EvidenceAdd) { a.Command.Argv[1] = "-\u202ec" }},
		{"argv: NUL", "command.argv[0]", "NUL (U+0000)", func(a *fairway.EvidenceAdd) { a.Command.Argv[0] = "sh\x00" }},
		{"dir: a bidi isolate", "command.dir", "U+2066", func(a *fairway.EvidenceAdd) { a.Command.Dir = "/src/\u2066app" }},
		{"dir: a newline", "command.dir", "one line", func(a *fairway.EvidenceAdd) { a.Command.Dir = "/src\n/app" }},
		{"signal: a screen clear", "command.signal", "ESC (U+001B)", func(a *fairway.EvidenceAdd) { a.Command.Signal = "terminated\x1b[2J" }},
		{"branch: a bidi override", "source.branch", "U+202E", func(a *fairway.EvidenceAdd) { a.Source.Branch = "fix\u202etxt.exe" }},
		{"branch: DEL", "source.branch", "DEL (U+007F)", func(a *fairway.EvidenceAdd) { a.Source.Branch = "main\x7f" }},
		{"commit: a newline", "source.commit", "one line", func(a *fairway.EvidenceAdd) { a.Source.Commit = "0123abcd\nforged" }},
		{"media type", "media_type", "ESC (U+001B)", func(a *fairway.EvidenceAdd) { a.MediaType = "text/plain\x1b[31m" }},
		{"environment: host", "environment.host", "ESC (U+001B)", func(a *fairway.EvidenceAdd) { a.Environment.Host = "build-1\x1b[8m" }},
		{"environment: a tool's version", "environment.tools[go]", "U+202E", func(a *fairway.EvidenceAdd) { a.Environment.Tools["go"] = "go1.26 \u202e" }},
		{"environment: a value", "environment.env_values[TERM]", "ESC (U+001B)", func(a *fairway.EvidenceAdd) { a.Environment.EnvValues["TERM"] = "\x1b]0;title\x07" }},
	}
	head := e.auditHead(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := clean()
			c.edit(&a)
			_, err := codex.AddEvidence(ctx, a, fairway.EvidenceParts{Content: strings.NewReader("ok\n")})
			fe, _ := err.(*fairway.Error)
			if fe == nil || fe.Code != fairway.EINVALID || fe.Field != c.field || !strings.Contains(fe.Message, c.says) {
				t.Fatalf("AddEvidence = %v, want invalid %s saying %q", err, c.field, c.says)
			}
			if got := e.auditHead(t); got != head {
				t.Fatalf("the audit head moved from %d to %d: a refused record wrote something", head, got)
			}
		})
	}
	if _, err := codex.AddEvidence(ctx, clean(), fairway.EvidenceParts{Content: strings.NewReader("ok\n")}); err != nil {
		t.Fatalf("the clean record, with a newline inside one argument: %v", err)
	}
}
