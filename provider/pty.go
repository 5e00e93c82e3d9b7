package provider

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/creack/pty"
)

// StartPTY starts argv in dir as a child on a new pseudo-terminal, the
// leader of its own session, with env as its environment. The returned
// file is the terminal's other end: read it for what the child shows,
// write it to type. It reads EIO once the child and its descendants
// have closed the terminal, which ReadPTY turns into io.EOF.
func StartPTY(argv []string, dir string, env []string, rows, cols uint16) (*Process, *os.File, error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("no command to start")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		return nil, nil, err
	}
	start, err := ProcessStart(cmd.Process.Pid)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
		return nil, nil, err
	}
	return &Process{PID: cmd.Process.Pid, Start: start, cmd: cmd}, f, nil
}

// ReadPTY reads the terminal, reporting the end of its output (EIO on
// Linux once no process holds the other end) as io.EOF.
func ReadPTY(f *os.File, p []byte) (int, error) {
	n, err := f.Read(p)
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(pe.Err, syscall.EIO) {
		return n, io.EOF
	}
	return n, err
}

// Kill ends the process and everything in its process group.
func (p *Process) Kill() error {
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return p.cmd.Process.Kill()
	}
	return nil
}
