package provider

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"syscall"
)

// Process is a command started for a session: its pid and start time are
// what the session records.
type Process struct {
	PID   int
	Start string
	cmd   *exec.Cmd
}

// StartShell starts argv in dir as a child in its own process group, its
// output to out.
func StartShell(ctx context.Context, argv []string, dir string, out io.Writer) (*Process, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to start")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	start, err := ProcessStart(cmd.Process.Pid)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return &Process{PID: cmd.Process.Pid, Start: start, cmd: cmd}, nil
}

// Exit is how a process ended: its exit code, or 128+signal when a
// signal killed it (as a shell reports it), and the signal's name.
type Exit struct {
	Code   int
	Signal string
}

// Wait waits for the process to end.
func (p *Process) Wait() (Exit, error) {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return Exit{}, err
	}
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return Exit{Code: 128 + int(ws.Signal()), Signal: ws.Signal().String()}, nil
	}
	return Exit{Code: p.cmd.ProcessState.ExitCode()}, nil
}
