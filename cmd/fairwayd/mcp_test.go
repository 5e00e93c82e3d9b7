package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
)

type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// A real `fairway serve` process serves MCP at /mcp with the API's bearer
// tokens: an agent's token acts as the agent, and it cannot close.
func TestProcesses_ServeMCPOverHTTP(t *testing.T) {
	dir := t.TempDir()
	if out, err := fairwayCommand(dir, "actor", "create", "alice", "--kind", "human", "--no-token").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out, err := fairwayCommand(dir, "actor", "create", "codex", "--kind", "agent", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var created fairway.ActorCreated
	if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
		t.Fatalf("actor create: %s %v", out, err)
	}
	if out, err := fairwayCommand(dir, "task", "create", "P-1", "--title", "served work").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	serve := fairwayCommand(dir, "serve", "--addr", "127.0.0.1:0")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, _, _ := strings.Cut(strings.TrimPrefix(line, "Fairway is serving "), " ")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serve said %q", line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr := &sdk.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{created.Token}}, DisableStandaloneSSE: true}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	call := func(name string, args map[string]any) (map[string]any, bool) {
		t.Helper()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var v map[string]any
		json.Unmarshal([]byte(res.Content[0].(*sdk.TextContent).Text), &v)
		return v, res.IsError
	}
	if v, isErr := call("task_take", map[string]any{"task": "P-1"}); isErr || v["owner"] != "codex" {
		t.Fatalf("task_take: %v", v)
	}
	if v, isErr := call("claim", map[string]any{"task": "P-1", "text": "done"}); isErr || v["actor"] != "codex" {
		t.Fatalf("claim: %v", v)
	}
	if v, isErr := call("request_review", map[string]any{"task": "P-1", "status": "done"}); !isErr {
		t.Fatalf("request_review with a status: %v", v)
	}
	if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "task_close", Arguments: map[string]any{"task": "P-1"}}); err == nil {
		t.Fatal("a close tool answered")
	}
	if v, _ := call("task_show", map[string]any{"task": "P-1"}); v["task"].(map[string]any)["status"] != fairway.StatusInProgress {
		t.Fatalf("P-1 after the agent: %v", v["task"])
	}
}
