package mcp_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/mcp"
	"fairway/sqlite"
)

// demoClient serves the demo ledger to codex-1 over MCP.
func demoClient(t *testing.T) (*client, *ledger.Ledger) {
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(store, blobs)
	if err := demo.Load(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	srv := mcp.NewServer(l, fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "codex-1"}))
	return &client{t: t, cs: connect(t, srv)}, l
}

// An agent dropped cold into the demo ledger, using only the tools prime
// and the tool descriptions name, gets from zero to a task in review with
// passing evidence. The steps are counted: each is one tool call.
func TestMCP_ColdAgentLoopFromPrime(t *testing.T) {
	c, l := demoClient(t)
	steps := 0
	tool := func(name string, args map[string]any) map[string]any {
		t.Helper()
		steps++
		out, isErr := c.tool(name, args)
		if isErr {
			t.Fatalf("step %d %s: %v", steps, name, out)
		}
		return out
	}
	init := c.cs.InitializeResult()
	if !strings.Contains(init.Instructions, "`prime`") {
		t.Fatalf("the instructions do not point at prime: %v", init)
	}
	// The evidence_add description teaches the kinds and what counts.
	var desc string
	for x, err := range c.cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if x.Name == "evidence_add" {
			desc = x.Description
		}
	}
	for _, want := range []string{"smoke (present and intact; a command recorded with it must have exited 0)", "context (never counts", "uat-report (a JUnit XML report"} {
		if !strings.Contains(desc, want) {
			t.Fatalf("evidence_add description lacks %q:\n%s", want, desc)
		}
	}

	brief := tool("prime", nil)
	if brief["actor"] != "codex-1" || len(brief["loop"].([]any)) != 5 || len(brief["rules"].([]any)) == 0 {
		t.Fatalf("prime = %v", brief)
	}
	ready := brief["ready"].([]any)
	if len(ready) == 0 {
		t.Fatalf("prime offers no ready work: %v", brief)
	}
	// Prime's first ready task that no gate of the demo asks more than a
	// smoke of: take the safe smoke work.
	key := ""
	for _, k := range ready {
		if strings.HasPrefix(k.(string), "OPS-SAFE-") {
			key = k.(string)
			break
		}
	}
	if key == "" {
		t.Fatalf("no safe work ready in %v", ready)
	}
	taken := tool("task_take", map[string]any{"task": key})
	if taken["status"] != fairway.StatusInProgress || taken["owner"] != "codex-1" {
		t.Fatalf("task_take = %v", taken)
	}
	show := tool("task_show", map[string]any{"task": key})
	if show["gate"] == nil {
		t.Fatalf("task_show has no gate: %v", show)
	}
	ev := tool("evidence_add", map[string]any{"task": key, "kind": "smoke", "text": "smoke: 12 checks, 12 passed\n"})
	tool("claim", map[string]any{"task": key, "text": "smoke passed"})
	done := tool("request_review", map[string]any{"task": key, "note": "smoke recorded"})
	if done["status"] != fairway.StatusInReview {
		t.Fatalf("request_review = %v", done)
	}
	// The evidence is there and the gate does not refuse it.
	v, err := l.TaskView(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range v.Evidence {
		if e.ID == ev["id"] && e.Kind == "smoke" {
			found = true
		}
	}
	if !found || v.Task.Status != fairway.StatusInReview {
		t.Fatalf("task %s: status %s, evidence %v", key, v.Task.Status, v.Evidence)
	}
	for _, r := range v.Gate.Requirements {
		if r.Kind == "evidence" && r.State == fairway.ReqUnsatisfied {
			t.Fatalf("evidence requirement unsatisfied after the loop: %+v", r)
		}
	}
	if steps != 6 {
		t.Fatalf("the MCP loop took %d tool calls, want 6", steps)
	}
	t.Logf("MCP loop: %d tool calls from prime to in_review", steps)

	// The prime resource reads the same brief as text.
	res, err := c.cs.ReadResource(context.Background(), &sdk.ReadResourceParams{URI: mcp.PrimeURI})
	if err != nil {
		t.Fatal(err)
	}
	text := res.Contents[0].Text
	if !strings.HasPrefix(text, "You are codex-1 (agent).") || !regexp.MustCompile(`\n  `+key+` +in_review `).MatchString(text) {
		t.Fatalf("prime resource:\n%s", text)
	}
	list, err := c.cs.ListResources(context.Background(), nil)
	if err != nil || len(list.Resources) != 1 || list.Resources[0].URI != mcp.PrimeURI {
		t.Fatalf("resources/list: %v %v", list, err)
	}
}

// next answers what is ready; when nothing asked for is, it offers the
// safe fallback work that is.
func TestMCP_NextFallsBackToSafeWork(t *testing.T) {
	c, _ := demoClient(t)
	all, isErr := c.tool("next", nil)
	if isErr || len(all["tasks"].([]any)) == 0 || all["safe_fallback"] != nil {
		t.Fatalf("next: %v", all)
	}
	out, isErr := c.tool("next", map[string]any{"owner": "priya"})
	if isErr || len(out["tasks"].([]any)) != 0 {
		t.Fatalf("next for an owner of nothing ready: %v", out)
	}
	safe := out["safe_fallback"].([]any)
	if len(safe) == 0 || !strings.Contains(out["hint"].(string), "safe fallback") {
		t.Fatalf("no safe fallback offered: %v", out)
	}
	for _, x := range safe {
		if key := x.(map[string]any)["key"].(string); !strings.HasPrefix(key, "OPS-SAFE-") {
			t.Errorf("fallback offers %s, which is not safe work", key)
		}
	}
}
