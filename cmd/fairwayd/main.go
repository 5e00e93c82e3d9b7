// Command fairwayd is Fairway's engine: the whole CLI for humans and
// agents, the API server and the benchmarks. Run directly it works in
// process as the CLI; the small `fairway` front (cmd/fairway) hands it
// each command, to a resident `fairwayd daemon` when the command allows.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.run(os.Args[1:]))
}
