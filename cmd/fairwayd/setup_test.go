package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const wantSnippet = snippetBegin + `
## Fairway

Work in this project is recorded and governed by Fairway. At the start of a
session, and again after your context was compacted, run ` + "`fairway prime --as a-1`" + `:
it says who you are, your session and the handoff waiting for you, your
ready work, the rules you cannot break and the loop to follow. Record
proof with ` + "`fairway run` or `fairway evidence add`" + `; a claim or a transcript
is never proof, and only independent humans approve and close.
` + snippetEnd + "\n"

// setup writes each agent's files with exact contents, keeps what the
// user had, and a second run changes nothing.
func TestSetup_WritesEachAgentsFilesIdempotently(t *testing.T) {
	cases := []struct {
		agent    string
		existing map[string]string
		want     map[string]string
	}{
		{agent: "claude",
			existing: map[string]string{
				".mcp.json": `{"mcpServers": {"other": {"command": "x"}}, "zeta": 1}`,
				".claude/settings.json": `{"permissions": {"allow": ["Bash(ls)"]}, "hooks": {"SessionStart": [
					{"matcher": "startup", "hooks": [{"type": "command", "command": "fairway prime --as old"}]},
					{"hooks": [{"type": "command", "command": "echo hi"}]}]}}`,
				"CLAUDE.md": "# Project\n\nBuild with make.",
			},
			want: map[string]string{
				".mcp.json": `{
  "mcpServers": {
    "other": {
      "command": "x"
    },
    "fairway": {
      "command": "fairway",
      "args": [
        "mcp",
        "--as",
        "a-1"
      ]
    }
  },
  "zeta": 1
}
`,
				".claude/settings.json": `{
  "permissions": {
    "allow": [
      "Bash(ls)"
    ]
  },
  "hooks": {
    "SessionStart": [
      {
        "matcher": "startup|resume|clear|compact",
        "hooks": [
          {
            "type": "command",
            "command": "fairway prime --as a-1"
          }
        ]
      },
      {
        "hooks": [
          {
            "type": "command",
            "command": "echo hi"
          }
        ]
      },
      {
        "hooks": [
          {
            "type": "command",
            "command": "fairway hook claude"
          }
        ]
      }
    ],
    "UserPromptSubmit": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "fairway hook claude"
          }
        ]
      }
    ],
    "Notification": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "fairway hook claude"
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "fairway hook claude"
          }
        ]
      }
    ],
    "SessionEnd": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "fairway hook claude"
          }
        ]
      }
    ]
  }
}
`,
				"CLAUDE.md": "# Project\n\nBuild with make.\n\n" + wantSnippet,
			}},
		{agent: "codex",
			existing: map[string]string{
				".codex/config.toml": "model = \"o4\"\n\n[mcp_servers.fairway]\ncommand = \"old\"\n\n[mcp_servers.fairway.env]\nX = \"1\"\n\n[mcp_servers.docs]\ncommand = \"docs\"\n",
				"AGENTS.md":          "# Agents\n\n" + snippetBegin + "\nstale text\n" + snippetEnd + "\n\nKeep this line.\n",
			},
			want: map[string]string{
				".codex/config.toml": "model = \"o4\"\nnotify = [\"fairway\", \"hook\", \"codex\"]\n\n[mcp_servers.fairway]\ncommand = \"fairway\"\nargs = [\"mcp\", \"--as\", \"a-1\"]\n\n[mcp_servers.docs]\ncommand = \"docs\"\n",
				"AGENTS.md":          "# Agents\n\n" + wantSnippet + "\nKeep this line.\n",
			}},
		// A notify program of the user's own is kept: Codex runs one.
		{agent: "codex",
			existing: map[string]string{".codex/config.toml": "notify = [\"notify-send\", \"Codex\"]\n"},
			want: map[string]string{
				".codex/config.toml": "notify = [\"notify-send\", \"Codex\"]\n\n[mcp_servers.fairway]\ncommand = \"fairway\"\nargs = [\"mcp\", \"--as\", \"a-1\"]\n",
				"AGENTS.md":          wantSnippet,
			}},
		{agent: "codex",
			want: map[string]string{
				".codex/config.toml": "notify = [\"fairway\", \"hook\", \"codex\"]\n\n[mcp_servers.fairway]\ncommand = \"fairway\"\nargs = [\"mcp\", \"--as\", \"a-1\"]\n",
				"AGENTS.md":          wantSnippet,
			}},
		{agent: "gemini",
			want: map[string]string{
				".gemini/settings.json": "{\n  \"mcpServers\": {\n    \"fairway\": {\n      \"command\": \"fairway\",\n      \"args\": [\n        \"mcp\",\n        \"--as\",\n        \"a-1\"\n      ]\n    }\n  }\n}\n",
				"GEMINI.md":             wantSnippet,
			}},
	}
	for _, c := range cases {
		t.Run(c.agent, func(t *testing.T) {
			dir := t.TempDir()
			for rel, body := range c.existing {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// A dry run shows the diff and writes nothing.
			out, errOut, code := runAs(dir, "", "setup", c.agent, "--project", dir, "--agent", "a-1", "--dry-run")
			if code != 0 || !strings.Contains(out, "+++ "+filepath.Join(dir, ".")) || !strings.HasSuffix(out, "dry run: nothing written\n") {
				t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
			}
			for rel := range c.want {
				got, err := os.ReadFile(filepath.Join(dir, rel))
				if body, existed := c.existing[rel]; existed && string(got) != body || !existed && err == nil {
					t.Fatalf("dry run changed %s", rel)
				}
			}
			out, errOut, code = runAs(dir, "", "setup", c.agent, "--project", dir, "--agent", "a-1")
			if code != 0 {
				t.Fatalf("setup: exit %d\n%s%s", code, out, errOut)
			}
			for rel, want := range c.want {
				got, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil || string(got) != want {
					t.Fatalf("%s:\n%s\nwant:\n%s", rel, got, want)
				}
			}
			out, _, code = runAs(dir, "", "setup", c.agent, "--project", dir, "--agent", "a-1")
			if code != 0 || strings.Contains(out, "+++") || strings.Count(out, ": unchanged\n") != len(c.want) {
				t.Fatalf("second run is not a no-op: exit %d\n%s", code, out)
			}
		})
	}
}

// Bad input changes nothing and says what to fix.
func TestSetup_RefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte("[1, 2]"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"setup", "cursor", "--project", dir}, `want claude, codex or gemini, got "cursor"`},
		{[]string{"setup", "gemini", "--project", dir, "--agent", "a b; rm -rf"}, "an actor name is letters"},
		{[]string{"setup", "claude", "--project", dir}, ".mcp.json: holds JSON that is not an object"},
	}
	for _, c := range cases {
		out, errOut, code := runAs(dir, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Fatalf("%v: exit %d\n%s%s", c.args, code, out, errOut)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("a refused setup wrote files: %v", entries)
	}
}
