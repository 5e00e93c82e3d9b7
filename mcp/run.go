package mcp

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"fairway"
	"fairway/runner"
)

// outputTail is how much of a run's output the run tool answers with;
// the whole output is in the evidence.
const outputTail = 4 << 10

// run runs a command in the project folder and records it as evidence.
func (s *Server) run(c *call, a map[string]any) (any, error) {
	v, err := need(a, "task", "kind", "note")
	if err != nil {
		return nil, err
	}
	argv, err := argStrings(a, "argv")
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fairway.FieldError("argv", "give the command to run, e.g. [\"go\", \"test\", \"./...\"]")
	}
	if w := fairwayWord(argv); w != "" {
		return nil, fairway.Errorf(fairway.EFORBIDDEN, "argv runs %s: Fairway's own commands are not work to record, and this server does not run them for you; use its tools (approving, waiving, closing and cancelling are for humans)", w)
	}
	kind := v[1]
	if kind == "" {
		kind = fairway.EvidenceCommandResult
	}
	root, err := s.root()
	if err != nil {
		return nil, err
	}
	// Refuse before running what the record would refuse: the task; and
	// a mutating one must have started (R5).
	task, err := s.Service.GetTask(c.ctx, v[0])
	if err != nil {
		return nil, err
	}
	if err := fairway.RunRefusal(task, kind, func() (*fairway.GateDecision, error) { return s.Service.ExplainGate(c.ctx, v[0]) }); err != nil {
		return nil, err
	}
	res, err := runner.Run(context.WithoutCancel(c.ctx), runner.Spec{Argv: argv, Dir: root})
	if err != nil {
		return nil, err
	}
	defer res.Close()
	tail := readTail(res.Log, outputTail)
	if _, err := res.Log.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	e, err := s.Service.AddEvidence(c.ctx, fairway.EvidenceAdd{
		Task: v[0], Kind: kind, Filename: "command.log", MediaType: "text/plain; charset=utf-8",
		Note: v[2], Command: res.Command, Source: res.Source, Environment: res.Environment,
	}, fairway.EvidenceParts{Content: res.Log, Stdout: res.Stdout, Stderr: res.Stderr})
	if err != nil {
		return nil, fairway.Errorf(fairway.ErrorCode(err), "the command ran (exit %d) but its evidence was not recorded: %s", res.Command.ExitCode, fairway.ErrorMessage(err))
	}
	return map[string]any{"exit_code": res.Command.ExitCode, "evidence": e, "output_tail": tail}, nil
}

// fairwayWord returns the word of argv that runs Fairway itself (directly
// or through a shell line), or "".
func fairwayWord(argv []string) string {
	self, _ := os.Executable()
	for _, arg := range argv {
		for _, w := range strings.FieldsFunc(arg, func(r rune) bool { return strings.ContainsRune(" \t\n;&|()`$<>'\"", r) }) {
			// fairwayd is the engine the fairway front hands commands to.
			if base := filepath.Base(w); base == "fairway" || base == "fairwayd" || (self != "" && w == self) {
				return w
			}
		}
	}
	return ""
}

// readTail returns the last n bytes of f.
func readTail(f *os.File, n int64) string {
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	off := info.Size() - n
	if off < 0 {
		off = 0
	}
	b := make([]byte, info.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	return string(b)
}
