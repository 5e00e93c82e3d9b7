package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func init() {
	register(&command{
		name: "setup", summary: "Register Fairway with an agent in a project: MCP server, session-start hook, instructions snippet",
		args: "claude|codex|gemini [--project DIR] [--agent NAME] [--dry-run]",
		example: `fairway setup claude --agent claude-1 --dry-run   # show what would change
fairway setup codex --project ../service --agent codex-1`,
		setup: func(fs *flag.FlagSet) runFunc {
			dir := fs.String("project", ".", "the project folder to write into (--dir is where the ledger is)")
			agent := fs.String("agent", "", "the actor the agent acts as (default: $FAIRWAY_ACTOR when it runs)")
			dry := fs.Bool("dry-run", false, "show the changes and write nothing")
			return func(a *app, pos []string) error {
				if err := wantArgs(pos, 1, "claude, codex or gemini"); err != nil {
					return err
				}
				changes, err := agentSetup(pos[0], *dir, *agent)
				if err != nil {
					return err
				}
				return applySetup(a.stdout, changes, *dry)
			}
		},
	})
}

// fileChange is one file setup writes: its path and its content before
// (nil when absent) and after.
type fileChange struct {
	path          string
	before, after []byte
}

// agentSetup computes, without writing, what setup changes for an agent:
// each agent's documented project files. Claude Code: .mcp.json
// (mcpServers), .claude/settings.json (a SessionStart hook whose output
// enters the context) and CLAUDE.md. Codex: .codex/config.toml
// ([mcp_servers.fairway]) and AGENTS.md. Gemini CLI:
// .gemini/settings.json (mcpServers) and GEMINI.md.
func agentSetup(agentKind, dir, actor string) ([]fileChange, error) {
	if actor != "" {
		if err := validateActorArg(actor); err != nil {
			return nil, err
		}
	}
	args := []string{"mcp"}
	prime := "fairway prime"
	if actor != "" {
		args = append(args, "--as", actor)
		prime += " --as " + actor
	}
	server := orderedObject{{"command", "fairway"}, {"args", args}}
	var out []fileChange
	add := func(rel string, edit func(before []byte) ([]byte, error)) error {
		path := filepath.Join(dir, rel)
		before, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			before = nil
		} else if err != nil {
			return err
		}
		after, err := edit(before)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, fileChange{path: path, before: before, after: after})
		return nil
	}
	jsonServer := func(rel string) error {
		return add(rel, func(b []byte) ([]byte, error) {
			return editJSON(b, func(root *orderedObject) {
				servers := root.object("mcpServers")
				servers.set("fairway", server)
			})
		})
	}
	snippet := func(rel string) error {
		return add(rel, func(b []byte) ([]byte, error) { return withSnippet(b, prime), nil })
	}
	var err error
	switch agentKind {
	case "claude":
		err = errors.Join(jsonServer(".mcp.json"),
			add(filepath.Join(".claude", "settings.json"), func(b []byte) ([]byte, error) {
				return editJSON(b, func(root *orderedObject) {
					hooks := root.object("hooks")
					hooks.set("SessionStart", withPrimeHook(hooks.get("SessionStart"), prime))
					// The agent reports its own status to its Fairway
					// session: ids, turns, waits and stop.
					for _, event := range claudeHookEvents {
						hooks.set(event, withCommandHook(hooks.get(event), claudeHookCommand, orderedObject{
							{"hooks", []any{orderedObject{{"type", "command"}, {"command", claudeHookCommand}}}}}))
					}
				})
			}),
			snippet("CLAUDE.md"))
	case "codex":
		err = errors.Join(add(filepath.Join(".codex", "config.toml"), func(b []byte) ([]byte, error) {
			return withTOMLNotify(withTOMLServer(b, args)), nil
		}), snippet("AGENTS.md"))
	case "gemini":
		err = errors.Join(jsonServer(filepath.Join(".gemini", "settings.json")), snippet("GEMINI.md"))
	default:
		return nil, usagef("want claude, codex or gemini, got %q", agentKind)
	}
	return out, err
}

func validateActorArg(name string) error {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
			return usagef("--agent %q: an actor name is letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// applySetup shows each change as a diff, then writes the changed files
// unless dry.
func applySetup(w io.Writer, changes []fileChange, dry bool) error {
	for _, c := range changes {
		if bytes.Equal(c.before, c.after) {
			fmt.Fprintf(w, "%s: unchanged\n", c.path)
			continue
		}
		fmt.Fprint(w, lineDiff(c.path, c.before, c.after))
		if dry {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
			return err
		}
		// Write beside and rename, so a crash never leaves half a file.
		tmp := c.path + ".fairway-tmp"
		if err := os.WriteFile(tmp, c.after, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, c.path); err != nil {
			return err
		}
	}
	if dry {
		fmt.Fprintln(w, "dry run: nothing written")
	}
	return nil
}

// Marks around the snippet setup owns in an instructions file.
const (
	snippetBegin = "<!-- fairway:begin (written by `fairway setup`; re-running it replaces this block) -->"
	snippetEnd   = "<!-- fairway:end -->"
)

// withSnippet appends the marked Fairway block, or replaces it where it
// already is, leaving the rest of the file as it was.
func withSnippet(before []byte, prime string) []byte {
	block := snippetBegin + "\n" +
		"## Fairway\n\n" +
		"Work in this project is recorded and governed by Fairway. At the start of a\n" +
		"session, and again after your context was compacted, run `" + prime + "`:\n" +
		"it says who you are, your session and the handoff waiting for you, your\n" +
		"ready work, the rules you cannot break and the loop to follow. Record\n" +
		"proof with `fairway run` or `fairway evidence add`; a claim or a transcript\n" +
		"is never proof, and only independent humans approve and close.\n" +
		snippetEnd + "\n"
	text := string(before)
	if i := strings.Index(text, snippetBegin); i >= 0 {
		if j := strings.Index(text[i:], snippetEnd); j >= 0 {
			end := i + j + len(snippetEnd)
			if end < len(text) && text[end] == '\n' {
				end++
			}
			return []byte(text[:i] + block + text[end:])
		}
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if text != "" {
		text += "\n"
	}
	return []byte(text + block)
}

// withTOMLServer sets the [mcp_servers.fairway] table of a Codex config,
// replacing that table (and its sub-tables) where it is and keeping every
// other line as written.
func withTOMLServer(before []byte, args []string) []byte {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	table := "[mcp_servers.fairway]\ncommand = \"fairway\"\nargs = [" + strings.Join(quoted, ", ") + "]\n"
	lines := strings.SplitAfter(string(before), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	header := func(l string) string {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			if i := strings.Index(t, "]"); i > 0 {
				return strings.TrimSpace(strings.Trim(t[:i+1], "[]"))
			}
		}
		return ""
	}
	ours := func(h string) bool { return h == "mcp_servers.fairway" || strings.HasPrefix(h, "mcp_servers.fairway.") }
	var out []string
	replaced := false
	for i := 0; i < len(lines); i++ {
		if h := header(lines[i]); h != "" && ours(h) {
			if !replaced {
				out = append(out, table)
				replaced = true
			}
			// Skip the table's body up to the next table that is not ours.
			for i+1 < len(lines) {
				if h := header(lines[i+1]); h != "" && !ours(h) {
					break
				}
				i++
			}
			if i+1 < len(lines) {
				out = append(out, "\n")
			}
			continue
		}
		out = append(out, lines[i])
	}
	text := strings.Join(out, "")
	if !replaced {
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		if text != "" {
			text += "\n"
		}
		text += table
	}
	return []byte(text)
}

// claudeHookCommand is the command Claude Code's hooks run to report to
// Fairway, and claudeHookEvents the events it is registered for: the
// session's start (its provider session id), each turn's start and end,
// the notifications that it waits for the user, and its end.
const claudeHookCommand = "fairway hook claude"

var claudeHookEvents = []string{"SessionStart", "UserPromptSubmit", "Notification", "Stop", "SessionEnd"}

// codexNotifyLine registers `fairway hook codex` as Codex's notify
// program, which Codex runs after every turn.
const codexNotifyLine = `notify = ["fairway", "hook", "codex"]`

// withTOMLNotify sets Codex's top-level notify program to Fairway's hook,
// unless the user already has one of their own: Codex runs a single
// notify program, and the user's is kept (the README shows how it can
// call Fairway's).
func withTOMLNotify(before []byte) []byte {
	lines := strings.SplitAfter(string(before), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	first := len(lines)
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			first = i
			break
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == "notify" {
			if strings.Contains(l, `"fairway"`) {
				lines[i] = codexNotifyLine + "\n"
			}
			return []byte(strings.Join(lines, ""))
		}
	}
	at := first
	for at > 0 && strings.TrimSpace(lines[at-1]) == "" {
		at--
	}
	line := codexNotifyLine + "\n"
	if at == 0 && first < len(lines) {
		line += "\n"
	}
	if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		line = "\n" + line
	}
	out := append(append(slices.Clone(lines[:at]), line), lines[at:]...)
	return []byte(strings.Join(out, ""))
}

// withCommandHook adds entry to an event's hook list once: an entry that
// already runs a command starting with prefix is replaced where it is.
func withCommandHook(existing any, prefix string, entry orderedObject) []any {
	list, _ := existing.([]any)
	var out []any
	placed := false
	for _, e := range list {
		if hasCommandHook(e, prefix) {
			if !placed {
				out = append(out, entry)
				placed = true
			}
			continue
		}
		out = append(out, e)
	}
	if !placed {
		out = append(out, entry)
	}
	return out
}

func hasCommandHook(e any, prefix string) bool {
	o, ok := e.(orderedObject)
	if !ok {
		return false
	}
	hooks, _ := o.get("hooks").([]any)
	for _, h := range hooks {
		if ho, ok := h.(orderedObject); ok {
			if cmd, _ := ho.get("command").(string); strings.HasPrefix(cmd, prefix) {
				return true
			}
		}
	}
	return false
}

// withPrimeHook adds a SessionStart entry running prime, once: an entry
// whose command already starts with "fairway prime" is replaced.
func withPrimeHook(existing any, prime string) []any {
	list, _ := existing.([]any)
	entry := orderedObject{{"matcher", "startup|resume|clear|compact"},
		{"hooks", []any{orderedObject{{"type", "command"}, {"command", prime}}}}}
	var out []any
	placed := false
	for _, e := range list {
		if isPrimeHook(e) {
			if !placed {
				out = append(out, entry)
				placed = true
			}
			continue
		}
		out = append(out, e)
	}
	if !placed {
		out = append(out, entry)
	}
	return out
}

func isPrimeHook(e any) bool {
	o, ok := e.(orderedObject)
	if !ok {
		return false
	}
	hooks, _ := o.get("hooks").([]any)
	for _, h := range hooks {
		if ho, ok := h.(orderedObject); ok {
			if cmd, _ := ho.get("command").(string); strings.HasPrefix(cmd, "fairway prime") {
				return true
			}
		}
	}
	return false
}
