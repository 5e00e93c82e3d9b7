package main

import (
	"fairway/mcp"
)

func init() {
	register(&command{
		name: "mcp", summary: "Serve the Model Context Protocol on stdio for agents (no approve, close, cancel or waive tool; fairway serve offers it at /mcp)",
		example: `fairway mcp --as codex-1
claude mcp add -s project fairway -- fairway mcp --as claude-1   # register it with Claude Code (fairway setup claude writes the same)`,
		setup: noFlags(func(a *app, pos []string) error {
			svc, ctx, err := a.service(pos, 0, "no arguments")
			if err != nil {
				return err
			}
			return mcp.NewServer(svc, ctx).Serve(a.ctx, a.stdin, a.stdout)
		}),
	})
}
