package mcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/mcp"
	"fairway/sqlite"
)

// client drives a server through the SDK's client, over the SDK's
// in-memory transport, as an agent does over stdio.
type client struct {
	root string // the server's project folder
	t    *testing.T
	cs   *sdk.ClientSession
}

// tool calls a tool and decodes its text result; isError says whether
// the tool reported a failure.
func (c *client) tool(name string, args map[string]any) (map[string]any, bool) {
	c.t.Helper()
	text, isErr := c.toolText(name, args)
	var out map[string]any
	json.Unmarshal([]byte(text), &out)
	return out, isErr
}

func (c *client) toolText(name string, args map[string]any) (string, bool) {
	c.t.Helper()
	res, err := c.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
	return res.Content[0].(*sdk.TextContent).Text, res.IsError
}

// toolNames lists the tools the server offers, sorted.
func (c *client) toolNames() []string {
	c.t.Helper()
	var names []string
	for tl, err := range c.cs.Tools(context.Background(), nil) {
		if err != nil {
			c.t.Fatal(err)
		}
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

// connect connects an SDK client to srv over the in-memory transport.
func connect(t *testing.T, srv *mcp.Server) *sdk.ClientSession {
	t.Helper()
	ct, st := sdk.NewInMemoryTransports()
	ss, err := srv.SDK().Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test-agent", Version: "1"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

func newLedger(t *testing.T) (*ledger.Ledger, string) {
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
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	if _, err := l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateActor(alice, fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTask(alice, fairway.TaskCreate{Key: "M-1", Title: "agent work"}); err != nil {
		t.Fatal(err)
	}
	return l, dir
}

func newClient(t *testing.T) (*client, *ledger.Ledger) {
	l, dir := newLedger(t)
	srv := mcp.NewServer(l, fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "codex"}))
	srv.Root = filepath.Join(dir, "project")
	if err := os.MkdirAll(filepath.Join(srv.Root, ".fairway"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, cs: connect(t, srv), root: srv.Root}, l
}

// wire speaks raw JSON-RPC to Serve over a pair of pipes, as an agent
// does over stdio, to check the protocol itself.
type wire struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Scanner
	id  int
}

func newWire(t *testing.T, srv *mcp.Server) *wire {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), inR, outW); outW.Close() }()
	t.Cleanup(func() {
		inW.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &wire{t: t, in: inW, out: bufio.NewScanner(outR)}
}

func (c *wire) send(msg map[string]any) {
	b, _ := json.Marshal(msg)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wire) call(method string, params any) map[string]any {
	c.t.Helper()
	c.id++
	c.send(map[string]any{"jsonrpc": "2.0", "id": c.id, "method": method, "params": params})
	if !c.out.Scan() {
		c.t.Fatalf("%s: no answer: %v", method, c.out.Err())
	}
	var resp map[string]any
	if err := json.Unmarshal(c.out.Bytes(), &resp); err != nil {
		c.t.Fatal(err)
	}
	if resp["id"] != float64(c.id) {
		c.t.Fatalf("%s: answer id %v, want %d", method, resp["id"], c.id)
	}
	return resp
}

// An agent records the files of its work, not of the machine: a path
// outside the project, through a link out of it, or into a store is
// refused; a file inside is recorded.
func TestMCP_EvidenceFilesStayInTheProject(t *testing.T) {
	c, _ := newClient(t)
	outside := filepath.Join(filepath.Dir(c.root), "outside.txt")
	os.WriteFile(outside, []byte("machine secret\n"), 0o644)
	os.WriteFile(filepath.Join(c.root, "build.log"), []byte("ok\n"), 0o644)
	os.WriteFile(filepath.Join(c.root, ".fairway", "fairway.db"), []byte("ledger"), 0o644)
	os.Symlink(outside, filepath.Join(c.root, "link.txt"))
	for _, path := range []string{outside, "../outside.txt", "link.txt", ".fairway/fairway.db", "/proc/self/environ"} {
		out, isErr := c.tool("evidence_add", map[string]any{"task": "M-1", "kind": "log", "path": path})
		if !isErr {
			t.Errorf("%s: recorded %v, want refused", path, out)
		}
	}
	if out, isErr := c.tool("evidence_add", map[string]any{"task": "M-1", "kind": "log", "path": "build.log"}); isErr {
		t.Fatalf("a project file: %v", out)
	}
}

func TestMCP_ToolListHasNoApproveCloseCancelOrWaive(t *testing.T) {
	l, _ := newLedger(t)
	w := newWire(t, mcp.NewServer(l, fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "codex"})))
	init := w.call("initialize", map[string]any{"protocolVersion": mcp.ProtocolVersion, "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "test", "version": "1"}})
	if v := init["result"].(map[string]any)["protocolVersion"]; v != mcp.ProtocolVersion {
		t.Fatalf("protocol version %v", v)
	}
	w.send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	var names []string
	for _, x := range w.call("tools/list", nil)["result"].(map[string]any)["tools"].([]any) {
		names = append(names, x.(map[string]any)["name"].(string))
	}
	slices.Sort(names)
	want := "claim evidence_add next prime request_review run scope_check search session_attach session_detach session_heartbeat task_show task_take"
	if strings.Join(names, " ") != want {
		t.Fatalf("tools = %v, want %s", names, want)
	}
	for _, n := range names {
		for _, bad := range []string{"approve", "close", "cancel", "waive", "waiver", "review_add", "narrow"} {
			if strings.Contains(n, bad) {
				t.Errorf("tool %q offers %s", n, bad)
			}
		}
	}
	if resp := w.call("tools/call", map[string]any{"name": "task_close", "arguments": map[string]any{"task": "M-1"}}); resp["error"] == nil {
		t.Fatalf("an unknown tool was called: %v", resp)
	}
}

// search finds a task by its title's words and refuses a bad kind.
func TestMCP_Search(t *testing.T) {
	c, _ := newClient(t)
	text, isErr := c.toolText("search", map[string]any{"text": "agent work", "kind": "task"})
	var hits []fairway.SearchHit
	if err := json.Unmarshal([]byte(text), &hits); err != nil || isErr || len(hits) != 1 || hits[0].ID != "M-1" {
		t.Fatalf("search result %q: %v", text, err)
	}
	if _, isErr := c.tool("search", map[string]any{"text": "x", "kind": "chat"}); !isErr {
		t.Fatal("a bad kind was accepted")
	}
}

// The whole agent loop through MCP: find work, attach, record, claim,
// ask for review, hand off; the session is fenced once replaced.
func TestMCP_AgentLoop(t *testing.T) {
	c, l := newClient(t)
	next, isErr := c.tool("next", nil)
	_ = next
	if isErr {
		t.Fatal("next failed")
	}
	att, isErr := c.tool("session_attach", map[string]any{"task": "M-1", "provider": "codex"})
	if isErr {
		t.Fatalf("attach: %v", att)
	}
	sess := att["session"].(map[string]any)
	id := sess["id"].(string)
	if _, ok := att["token"]; ok {
		t.Fatal("the credential was handed to the agent")
	}
	if _, isErr := c.tool("session_heartbeat", map[string]any{"session": id}); isErr {
		t.Fatal("heartbeat failed")
	}
	ev, isErr := c.tool("evidence_add", map[string]any{"task": "M-1", "kind": "log", "text": "ok 12 tests\n"})
	if isErr || ev["session"] != id {
		t.Fatalf("evidence: %v", ev)
	}
	if out, isErr := c.tool("claim", map[string]any{"task": "M-1", "text": "done"}); isErr || out["session"] != id {
		t.Fatalf("claim: %v", out)
	}
	if out, isErr := c.tool("evidence_add", map[string]any{"task": "M-1", "kind": "log"}); !isErr || !strings.Contains(out["error"].(map[string]any)["message"].(string), "path") {
		t.Fatalf("evidence with nothing: %v", out)
	}
	// A human moves it along; the agent's session is then replaced.
	alice := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"})
	if _, err := l.TransitionTask(alice, "M-1", fairway.Transition{Status: fairway.StatusInProgress}); err != nil {
		t.Fatal(err)
	}
	if out, isErr := c.tool("request_review", map[string]any{"task": "M-1"}); isErr || out["status"] != fairway.StatusInReview {
		t.Fatalf("request review: %v", out)
	}
	show, _ := c.tool("task_show", map[string]any{"task": "M-1"})
	if show["task"].(map[string]any)["status"] != fairway.StatusInReview {
		t.Fatalf("task_show: %v", show)
	}
	if _, err := l.AttachSession(alice, fairway.SessionAttach{Task: "M-1", Provider: "claude", Replace: id}); err != nil {
		t.Fatal(err)
	}
	out, isErr := c.tool("claim", map[string]any{"task": "M-1", "text": "still working"})
	if !isErr || out["error"].(map[string]any)["code"] != fairway.EFORBIDDEN || !strings.Contains(out["error"].(map[string]any)["message"].(string), "replaced") {
		t.Fatalf("zombie claim through MCP: %v", out)
	}
	if out, isErr := c.tool("session_detach", map[string]any{"session": id, "handoff": "done"}); !isErr {
		t.Fatalf("zombie detach: %v", out)
	}
}

// No tool approves, waives, closes or cancels, and no argument or command
// smuggles it through another tool (R1): undeclared arguments are refused,
// and run refuses Fairway's own commands, however wrapped.
func TestMCP_NoToolApprovesOrClosesTheTask(t *testing.T) {
	c, l := newClient(t)
	refuseClose(t, c, "M-1")
	for _, argv := range [][]any{
		{"fairway", "task", "close", "M-1"},
		{"/usr/local/bin/fairway", "review", "add", "M-1", "--approve"},
		{"sh", "-c", "cd /tmp && fairway waiver approve 1"},
		{"env", "FAIRWAY_ACTOR=alice", "fairway", "task", "cancel", "M-1"},
	} {
		out, isErr := c.tool("run", map[string]any{"task": "M-1", "argv": argv})
		if !isErr || out["error"].(map[string]any)["code"] != fairway.EFORBIDDEN {
			t.Errorf("run %v: %v, want refused", argv, out)
		}
	}
	v, err := l.TaskView(context.Background(), "M-1")
	if err != nil || len(v.Evidence) != 0 || v.Task.Status != fairway.StatusOpen {
		t.Fatalf("after the attempts: %v %v", v, err)
	}
}

// run records a command as evidence, failing runs too, with its exit code
// and the tail of its output.
func TestMCP_RunRecordsTheCommand(t *testing.T) {
	c, l := newClient(t)
	out, isErr := c.tool("run", map[string]any{"task": "M-1", "argv": []any{"sh", "-c", "echo 11 passed, 1 failed; exit 3"}, "note": "unit tests"})
	if isErr || out["exit_code"] != float64(3) || out["output_tail"] != "11 passed, 1 failed\n" {
		t.Fatalf("run: %v", out)
	}
	ev := out["evidence"].(map[string]any)
	e, err := l.GetEvidence(context.Background(), ev["id"].(string))
	if err != nil || e.Kind != fairway.EvidenceCommandResult || e.Command == nil || e.Command.ExitCode != 3 || e.Command.Argv[0] != "sh" || e.RecordedBy != "codex" {
		t.Fatalf("evidence: %+v %v", e, err)
	}
	if out, isErr := c.tool("run", map[string]any{"task": "NOPE-1", "argv": []any{"true"}}); !isErr || out["error"].(map[string]any)["code"] != fairway.ENOTFOUND {
		t.Fatalf("run on a missing task: %v", out)
	}
}

// A mutating task runs nothing through the run tool until it starts,
// where its protected controls are checked (R5).
func TestMCP_RunWaitsForAMutatingTaskToStart(t *testing.T) {
	c, l := newClient(t)
	if _, err := l.CreateTask(fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "alice"}), fairway.TaskCreate{Key: "M-MUT", Title: "mutate", Mutating: true}); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	out, isErr := c.tool("run", map[string]any{"task": "M-MUT", "argv": []any{"touch", marker}})
	if !isErr || out["error"].(map[string]any)["code"] != fairway.EGATEFAILED {
		t.Fatalf("run on an open mutating task: %v", out)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("the command ran before the task started")
	}
	if out, isErr := c.tool("task_take", map[string]any{"task": "M-MUT"}); isErr {
		t.Fatalf("take: %v", out)
	}
	if out, isErr := c.tool("run", map[string]any{"task": "M-MUT", "argv": []any{"touch", marker}}); isErr || out["exit_code"] != float64(0) {
		t.Fatalf("run on the started task: %v", out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the command did not run once the task started: %v", err)
	}
}

// Arguments that name a field twice mean two things: a client showing
// the call to its user may show the first, while decoding keeps the
// last. Such a call is refused, naming the field, and changes nothing.
func TestMCP_ArgumentsNamingAFieldTwiceAreRefused(t *testing.T) {
	c, l := newClient(t)
	for raw, want := range map[string]string{
		`{"task":"M-1","task":"M-2","text":"taking it"}`: "task: is named twice; send each argument once",
		`{"task":"M-1","TASK":"M-2","text":"taking it"}`: "TASK: is named twice; send each argument once",
		// Half a surrogate pair would be stored as U+FFFD: not what was sent.
		`{"task":"M-1","text":"taking it \ud800"}`: "arguments: are not valid UTF-8 text at byte 32 (bytes that are not UTF-8, or half a surrogate pair); send text as UTF-8, since it would be stored changed (as U+FFFD)",
	} {
		res, err := c.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "claim", Arguments: json.RawMessage(raw)})
		if err != nil {
			t.Fatal(err)
		}
		text := res.Content[0].(*sdk.TextContent).Text
		var out map[string]any
		json.Unmarshal([]byte(text), &out)
		e, _ := out["error"].(map[string]any)
		if !res.IsError || e == nil || e["code"] != fairway.EINVALID || e["message"] != want {
			t.Fatalf("%s: %s, want refused naming the field", raw, text)
		}
	}
	v, err := l.TaskView(context.Background(), "M-1")
	if err != nil || len(v.Claims) != 0 {
		t.Fatalf("after the calls: claims %v, %v", v.Claims, err)
	}
}
