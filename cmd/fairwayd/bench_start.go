package main

import (
	"fmt"
	"os/exec"
	"path/filepath"

	"fairway/bench"
)

// benchStartCost times whole fairway processes that agents call hundreds
// of times a session against a hello-world Go binary built in the same
// run (goal: at most 2x), by wall time and by the process's own CPU time.
func benchStartCost(exe, work string, runs int, progress func(string, ...any)) ([]benchRow, error) {
	hello, err := bench.HelloWorld(work)
	if err != nil {
		return []benchRow{{Name: "CLI start cost", Unit: "skipped", Goal: "<= 2x hello-world", Note: err.Error()}}, nil
	}
	dir := filepath.Join(work, "start")
	setup := [][]string{
		{"actor", "create", "alice", "--kind", "human"},
		{"task", "create", "START-1", "--title", "start cost", "--as", "alice"},
		{"task", "create", "START-2", "--title", "waits on START-1", "--as", "alice"},
		{"dep", "add", "START-2", "START-1", "--as", "alice"},
	}
	for _, args := range setup {
		if out, err := exec.Command(exe, append(args, "--dir", dir)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("start cost setup %v: %v: %s", args, err, out)
		}
	}
	names := []string{"fairway help", "fairway version", "fairway task list", "fairway task show", "fairway next"}
	cmds := [][]string{
		{hello},
		{exe, "help"},
		{exe, "version"},
		{exe, "task", "list", "--dir", dir},
		{exe, "task", "show", "START-2", "--dir", dir},
		{exe, "next", "--dir", dir},
	}
	progress("timing %d runs each of %d commands against a hello-world binary", runs, len(names))
	costs, err := bench.ProcessCosts(runs, cmds)
	if err != nil {
		return nil, err
	}
	base := costs[0]
	var rows []benchRow
	for i, name := range names {
		c := costs[i+1]
		rows = append(rows,
			benchRow{Name: name + ", whole process (wall)", Value: ms(c.Wall), Unit: "ms median", Baseline: ms(base.Wall), Ratio: ms(c.Wall) / ms(base.Wall),
				Goal: "<= 2x hello-world", Note: "baseline: a Go hello-world binary built in this run, runs interleaved"},
			benchRow{Name: name + ", whole process (CPU)", Value: ms(c.CPU), Unit: "ms median", Baseline: ms(base.CPU), Ratio: ms(c.CPU) / ms(base.CPU),
				Goal: "<= 2x hello-world", Note: "user+system time of the process; baseline: the hello-world's"})
	}
	return rows, nil
}
