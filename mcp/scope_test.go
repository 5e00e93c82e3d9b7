package mcp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/demo"
	"fairway/mcp"
)

func gitInit(t *testing.T) string {
	t.Helper()
	// The session records the folder: t.TempDir's name (the test's,
	// with random digits) must pass the secret scan.
	dir := t.TempDir()
	gitInitIn(t, dir)
	return dir
}

func gitInitIn(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"services/platform/api.go", "services/gpuaas/alloc.go"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte("package x\n"), 0o644)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "start"}} {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// The agent loop over MCP with a real work tree: attach records the tree
// and its commit; a change outside the task's scope shows on scope_check
// as an unsatisfied scope requirement naming the path and its owning
// layer, with that layer's review added to the gate; detach checks again;
// no tool acknowledges, and the agent stays unable to close.
func TestMCP_ScopeDriftInTheAgentLoop(t *testing.T) {
	l, _ := newLedger(t)
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	if _, err := l.BootstrapPolicy(alice, "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateLane(alice, fairway.LaneCreate{Name: "closeout", KeyPrefix: "OPS-FIX"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTask(alice, fairway.TaskCreate{Key: "OPS-FIX-001", Lane: "closeout", Title: "platform fix", Scope: fairway.Scope{Paths: []string{"services/platform/**"}}}); err != nil {
		t.Fatal(err)
	}
	srv := mcp.NewServer(l, fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "codex"}))
	srv.Root = gitInit(t)
	c := &client{t: t, cs: connect(t, srv), root: srv.Root}

	att, isErr := c.tool("session_attach", map[string]any{"task": "OPS-FIX-001", "provider": "codex"})
	if isErr {
		t.Fatalf("attach: %v", att)
	}
	sess := att["session"].(map[string]any)
	if sess["dir"] == "" || len(sess["base_commit"].(string)) != 40 {
		t.Fatalf("the session did not record its work tree: %v", sess)
	}
	os.WriteFile(filepath.Join(c.root, "services/platform/api.go"), []byte("package x // fixed\n"), 0o644)
	os.WriteFile(filepath.Join(c.root, "services/gpuaas/alloc.go"), []byte("package x // touched\n"), 0o644)
	out, isErr := c.tool("scope_check", map[string]any{"task": "OPS-FIX-001"})
	if isErr {
		t.Fatalf("scope_check: %v", out)
	}
	req := out["requirement"].(map[string]any)
	if req["state"] != fairway.ReqUnsatisfied || req["detail"] != "changed outside the task's declared scope: services/gpuaas/alloc.go (layer gpuaas-product)" ||
		!strings.Contains(req["remedy"].(string), "a human owner reviews and acknowledges") {
		t.Fatalf("scope requirement: %v", req)
	}
	show, _ := c.tool("task_show", map[string]any{"task": "OPS-FIX-001"})
	found := false
	for _, r := range show["gate"].(map[string]any)["requirements"].([]any) {
		if r.(map[string]any)["id"] == "review:gpuaas" && strings.Contains(r.(map[string]any)["because"].(string), "owned by layer gpuaas-product") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the gpuaas review was not added: %v", show["gate"])
	}
	if out, isErr := c.tool("scope_check", map[string]any{"task": "OPS-FIX-001", "acknowledge": true}); !isErr {
		t.Fatalf("acknowledged through scope_check: %v", out)
	}
	det, isErr := c.tool("session_detach", map[string]any{"session": sess["id"], "handoff": "api fixed; touched gpuaas alloc, needs their review"})
	if isErr || det["scope_check"] == nil {
		t.Fatalf("detach: %v", det)
	}
	records, err := l.ScopeRecords(context.Background(), "OPS-FIX-001")
	if err != nil || len(records) != 2 || records[1].Session != sess["id"] || records[1].By != "codex" {
		t.Fatalf("records: %+v %v", records, err)
	}
}

// A project folder whose name the secret scan refuses (a random-looking
// temporary folder) does not stop an attach: the session is attached
// without its work tree, and says so.
func TestMCP_AttachWithARefusedFolderName(t *testing.T) {
	l, _ := newLedger(t)
	srv := mcp.NewServer(l, fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "codex"}))
	parent, err := os.MkdirTemp("", "work")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	srv.Root = filepath.Join(parent, "wt-Q7fK2pX9vL4mN8rT3bY6hJ1dS5gW0zC")
	os.MkdirAll(srv.Root, 0o755)
	gitInitIn(t, srv.Root)
	c := &client{t: t, cs: connect(t, srv), root: srv.Root}
	att, isErr := c.tool("session_attach", map[string]any{"task": "M-1", "provider": "codex"})
	if isErr || att["session"].(map[string]any)["dir"] != nil || !strings.Contains(att["note"].(string), "the work tree was not recorded") {
		t.Fatalf("attach: %v", att)
	}
}
