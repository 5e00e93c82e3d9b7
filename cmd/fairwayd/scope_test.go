package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
)

// gitTree makes a git work tree with one commit and returns it and the
// commit.
func gitTree(t *testing.T) (string, string) {
	t.Helper()
	// t.TempDir's name (the test's, with random digits) is recorded as
	// the session's workdir and must pass its secret scan.
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	write(t, dir, "services/platform/api.go", "package api\n")
	write(t, dir, "services/gpuaas/alloc.go", "package alloc\n")
	git("add", ".")
	git("commit", "-q", "-m", "start")
	return dir, git("rev-parse", "HEAD")
}

func write(t *testing.T, dir, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, path), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// In both modes: a session that recorded its work tree and base commit
// is checked at detach; a change outside the task's scope shows on the
// gate as an unsatisfied scope requirement naming the path and its
// layer, with the layer's review added; an agent cannot acknowledge it
// (exit 5), a human can.
func TestCLI_ScopeDriftAtDetach(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		mustRun := func(as string, args ...string) string {
			t.Helper()
			out, errOut, code := e.runWith(nil, as, args...)
			if code != 0 {
				t.Fatalf("local=%t %v: exit %d: %s", local, args, code, errOut)
			}
			return out
		}
		files := t.TempDir()
		write(t, files, "governance.yaml", string(demo.Policy))
		mustRun("alice", "policy", "apply", filepath.Join(files, "governance.yaml"))
		mustRun("alice", "lane", "create", "closeout", "--prefix", "OPS-FIX")
		mustRun("alice", "task", "create", "OPS-FIX-001", "--lane", "closeout", "--title", "platform fix", "--path", "services/platform/**")
		tree, base := gitTree(t)
		var att fairway.AttachedSession
		json.Unmarshal([]byte(mustRun("codex", "session", "attach", "--task", "OPS-FIX-001", "--provider", "codex", "--workdir", tree, "--base-commit", base, "--json")), &att)
		write(t, tree, "services/platform/api.go", "package api // fixed\n")
		write(t, tree, "services/gpuaas/alloc.go", "package alloc // touched\n")
		write(t, tree, "services/gpuaas/new.go", "package alloc\n")
		_, errOut, code := e.runWith(nil, "codex", "session", "detach", att.Session.ID, "--handoff", "api fixed")
		if code != 0 || !strings.Contains(errOut, "outside the declared scope: services/gpuaas/alloc.go, services/gpuaas/new.go") {
			t.Fatalf("local=%t detach: %d %s", local, code, errOut)
		}
		gate, _, _ := e.runWith(nil, "alice", "gate", "explain", "OPS-FIX-001")
		if !strings.Contains(gate, "UNSATISFIED    scope — changed outside the task's declared scope: services/gpuaas/alloc.go (layer gpuaas-product); services/gpuaas/new.go (layer gpuaas-product)") ||
			!strings.Contains(gate, "UNSATISFIED    review:gpuaas") {
			t.Fatalf("local=%t gate:\n%s", local, gate)
		}
		_, errOut, code = e.runWith(nil, "codex", "scope", "acknowledge", "OPS-FIX-001", "--paths", "services/gpuaas/alloc.go,services/gpuaas/new.go")
		if code != exitForbidden || !strings.Contains(errOut, "only a human can acknowledge") {
			t.Fatalf("local=%t agent acknowledge: %d %s", local, code, errOut)
		}
		mustRun("alice", "scope", "acknowledge", "OPS-FIX-001", "--paths", "services/gpuaas/alloc.go,services/gpuaas/new.go", "--note", "agreed")
		gate, _, _ = e.runWith(nil, "alice", "gate", "explain", "OPS-FIX-001")
		if !strings.Contains(gate, "SATISFIED      scope — 1 scope check(s)") {
			t.Fatalf("local=%t gate after acknowledge:\n%s", local, gate)
		}
		// A check by hand sees a new drift.
		write(t, tree, "docs/notes.md", "notes\n")
		out := mustRun("codex", "scope", "check", "OPS-FIX-001", "--base", base, "--worktree", tree)
		if !strings.Contains(out, "gate: scope UNSATISFIED: changed outside the task's declared scope: docs/notes.md (no layer owns it)") {
			t.Fatalf("local=%t scope check:\n%s", local, out)
		}
		var list []*fairway.ScopeRecord
		json.Unmarshal([]byte(mustRun("alice", "scope", "list", "OPS-FIX-001", "--json")), &list)
		if len(list) != 3 || list[0].Session != att.Session.ID || list[0].Base != base || list[1].Kind != fairway.ScopeAcknowledged {
			t.Fatalf("local=%t records: %+v", local, list)
		}
	}
}
