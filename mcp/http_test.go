package mcp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/blob"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/mcp"
	"fairway/sqlite"
)

// bearer adds a token to every request, as an agent's MCP client does
// with its configured headers.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// httpEnv serves the API with MCP at /mcp, as `fairway serve` does.
type httpEnv struct {
	l                  *ledger.Ledger
	srv                *httptest.Server
	alice, agent, bot2 string
}

func newHTTPEnv(t *testing.T) *httpEnv {
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "f.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(store, blobs)
	alice, err := l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	as := fairway.NewContextWithActor(context.Background(), alice.Actor)
	codex, err := l.CreateActor(as, fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	bot2, err := l.CreateActor(as, fairway.ActorCreate{Name: "bot2", Kind: fairway.KindAgent, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTask(as, fairway.TaskCreate{Key: "H-1", Title: "remote agent work"}); err != nil {
		t.Fatal(err)
	}
	auth := ledger.TokenAuth{L: l}
	api := fairwayhttp.NewServer(l, auth, nil)
	api.MountMCP(mcp.HTTPHandler(l, auth))
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); store.Close() })
	return &httpEnv{l: l, srv: srv, alice: alice.Token, agent: codex.Token, bot2: bot2.Token}
}

func (e *httpEnv) connect(t *testing.T, token string) *client {
	t.Helper()
	tr := &sdk.StreamableClientTransport{Endpoint: e.srv.URL + fairwayhttp.MCPPath,
		HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}, DisableStandaloneSSE: true}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "remote-agent", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return &client{t: t, cs: cs}
}

// Over real HTTP with an agent's bearer token: the whole agent loop, each
// write recorded as the token's actor and fenced on the attached session;
// nothing runs or reads files on the server; no token means 401; the
// agent cannot close the task through any tool.
func TestMCP_OverHTTPWithBearerToken(t *testing.T) {
	e := newHTTPEnv(t)

	resp, err := http.Post(e.srv.URL+fairwayhttp.MCPPath, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "a bearer token is required") {
		t.Fatalf("no token: %d %s", resp.StatusCode, body)
	}
	bad := &sdk.StreamableClientTransport{Endpoint: e.srv.URL + fairwayhttp.MCPPath, HTTPClient: &http.Client{Transport: bearer{"not-a-token", http.DefaultTransport}}}
	if _, err := sdk.NewClient(&sdk.Implementation{Name: "x", Version: "1"}, nil).Connect(context.Background(), bad, nil); err == nil {
		t.Fatal("a bad token connected")
	}

	c := e.connect(t, e.agent)
	names := strings.Join(c.toolNames(), " ")
	if want := "claim evidence_add next prime request_review scope_check search session_attach session_detach session_heartbeat task_show task_take"; names != want {
		t.Fatalf("remote tools = %s, want %s (run reads the agent's machine)", names, want)
	}
	if brief, isErr := c.tool("prime", nil); isErr || brief["actor"] != "codex" {
		t.Fatalf("prime over HTTP: %v", brief)
	}
	if out, isErr := c.tool("task_take", map[string]any{"task": "H-1"}); isErr || out["owner"] != "codex" || out["status"] != fairway.StatusInProgress {
		t.Fatalf("take: %v", out)
	}
	att, isErr := c.tool("session_attach", map[string]any{"task": "H-1", "provider": "claude"})
	if isErr {
		t.Fatalf("attach: %v", att)
	}
	id := att["session"].(map[string]any)["id"].(string)
	if att["session"].(map[string]any)["actor"] != "codex" {
		t.Fatalf("session actor: %v", att)
	}
	if _, isErr := c.tool("session_heartbeat", map[string]any{"session": id}); isErr {
		t.Fatal("heartbeat failed")
	}
	ev, isErr := c.tool("evidence_add", map[string]any{"task": "H-1", "kind": "log", "text": "ok 3 tests\n"})
	if isErr || ev["session"] != id || ev["recorded_by"] != "codex" {
		t.Fatalf("evidence over HTTP: %v", ev)
	}
	if out, isErr := c.tool("evidence_add", map[string]any{"task": "H-1", "kind": "log", "path": "/etc/passwd"}); !isErr || !strings.Contains(out["error"].(map[string]any)["message"].(string), "cannot read your files") {
		t.Fatalf("a server file was read: %v", out)
	}
	if out, isErr := c.tool("claim", map[string]any{"task": "H-1", "text": "done"}); isErr || out["session"] != id {
		t.Fatalf("claim: %v", out)
	}
	// Over HTTP the agent reports the paths; the record says so.
	sc, isErr := c.tool("scope_check", map[string]any{"task": "H-1", "base": "0123abcd", "paths": []any{"docs/notes.md"}})
	if isErr || sc["requirement"].(map[string]any)["state"] != fairway.ReqUnsatisfied {
		t.Fatalf("scope_check over HTTP: %v", sc)
	}
	if check := sc["check"].(map[string]any); check["session"] != id || check["by"] != "codex" || !strings.Contains(check["note"].(string), "reported by the agent") {
		t.Fatalf("scope record: %v", check)
	}
	// Another agent's token cannot use this MCP session's attachment: it
	// acts as itself, unfenced, and the ledger judges it as bot2.
	other := e.connect(t, e.bot2)
	if out, isErr := other.tool("session_heartbeat", map[string]any{"session": id}); !isErr {
		t.Fatalf("bot2 heartbeated codex's session: %v", out)
	}
	if out, isErr := c.tool("request_review", map[string]any{"task": "H-1", "note": "tests recorded"}); isErr || out["status"] != fairway.StatusInReview {
		t.Fatalf("request review: %v", out)
	}
	refuseClose(t, c, "H-1")
	if out, isErr := c.tool("session_detach", map[string]any{"session": id, "handoff": "tests recorded; review pending"}); isErr {
		t.Fatalf("detach: %v", out)
	}
	task, err := e.l.GetTask(context.Background(), "H-1")
	if err != nil || task.Status != fairway.StatusInReview {
		t.Fatalf("H-1 after the loop: %v %v", task, err)
	}
}

// refuseClose tries every way a tool could move a task to done or
// cancelled, or approve, and expects each refused with the task unmoved.
func refuseClose(t *testing.T, c *client, key string) {
	t.Helper()
	attempts := []struct {
		tool string
		args map[string]any
	}{
		{"request_review", map[string]any{"task": key, "status": fairway.StatusDone}},
		{"request_review", map[string]any{"task": key, "approve": true}},
		{"task_take", map[string]any{"task": key, "status": fairway.StatusCancelled}},
		{"claim", map[string]any{"task": key, "text": "approved", "verdict": "approved"}},
		{"evidence_add", map[string]any{"task": key, "kind": "log", "text": "x", "waiver": "all"}},
	}
	for _, a := range attempts {
		out, isErr := c.tool(a.tool, a.args)
		if !isErr || !strings.Contains(out["error"].(map[string]any)["message"].(string), "is not an argument of "+a.tool) {
			t.Errorf("%s %v: %v, want refused", a.tool, a.args, out)
		}
	}
	for _, name := range []string{"task_close", "task_cancel", "review_approve", "waiver_approve", "approve", "close"} {
		if _, err := c.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: map[string]any{"task": key}}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
			t.Errorf("tool %s: %v, want unknown", name, err)
		}
	}
	show, _ := c.tool("task_show", map[string]any{"task": key})
	if st := show["task"].(map[string]any)["status"]; st == fairway.StatusDone || st == fairway.StatusCancelled {
		t.Fatalf("%s is %s after the attempts", key, st)
	}
}
