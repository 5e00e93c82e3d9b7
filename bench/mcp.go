package bench

import (
	"context"
	"fmt"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/mcp"
	"fairway/sqlite"
)

// MCPTimes are median latencies in microseconds: a claim through an MCP
// tool call, and the same claim as a ledger call.
type MCPTimes struct {
	MCP, Direct float64
}

// MCPOverhead records n claims through an MCP tool call over the SDK's
// in-memory transport and n through the ledger directly, in a store in
// dir, and returns the median of each.
func MCPOverhead(ctx context.Context, dir string, n int) (*MCPTimes, error) {
	l, s, alice, _, err := OpenLedger(ctx, dir, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := l.CreateTask(alice, fairway.TaskCreate{Key: "MCP-1", Title: "mcp bench"}); err != nil {
		return nil, err
	}
	srv := mcp.NewServer(l, alice)
	ct, st := sdk.NewInMemoryTransports()
	ss, err := srv.SDK().Connect(ctx, st, nil)
	if err != nil {
		return nil, err
	}
	defer ss.Close()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "fairway-bench", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	viaMCP, err := Time(n, func() error {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "claim", Arguments: map[string]any{"task": "MCP-1", "text": "bench claim"}})
		if err == nil && res.IsError {
			err = fmt.Errorf("claim tool: %v", res.Content)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	direct, err := Time(n, func() error {
		_, err := l.AddClaim(alice, fairway.ClaimAdd{Task: "MCP-1", Text: "bench claim"})
		return err
	})
	if err != nil {
		return nil, err
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	return &MCPTimes{MCP: us(viaMCP), Direct: us(direct)}, nil
}
