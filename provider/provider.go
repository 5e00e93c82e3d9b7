// Package provider runs and watches the processes behind provider
// sessions: a plain child process (shell) or a tmux pane on a socket of
// Fairway's own. It confirms whether a session's process is still the one
// recorded (pid and start time, or the pane), which restart
// reconciliation relies on, and turns what a pane shows into
// observations.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"fairway"
)

// ProcessStart returns a process's start time as the kernel reports it
// (clock ticks since boot, field 22 of /proc/PID/stat): with the pid it
// names one process, so a reused pid is told apart.
func ProcessStart(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after its last ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return "", fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return fields[19], nil
}

// ProcessAlive confirms that pid is running and is the process that
// started at start; the reason says why not.
func ProcessAlive(pid int, start string) (bool, string) {
	if pid <= 0 {
		return false, "no pid was recorded"
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false, fmt.Sprintf("pid %d is gone", pid)
	}
	got, err := ProcessStart(pid)
	if err != nil {
		return false, fmt.Sprintf("pid %d is gone", pid)
	}
	if state, _ := processState(pid); state == "Z" {
		return false, fmt.Sprintf("pid %d exited (a zombie waiting to be reaped)", pid)
	}
	if start != "" && got != start {
		return false, fmt.Sprintf("pid %d is another process now (started at tick %s, not %s)", pid, got, start)
	}
	return true, ""
}

func processState(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if f := strings.Fields(s[i+1:]); len(f) > 0 {
			return f[0], nil
		}
	}
	return "", nil
}

// Liveness confirms a session for restart reconciliation: a tmux session
// by its pane, anything else by its pid and start time. A session this
// machine has nothing to check for — attached on another host, or with
// neither pid nor pane recorded (an agent attached over MCP or the API) —
// is not judged here: its lease decides, expiring it when its heartbeats
// stop (R10). Otherwise every restart would interrupt every remote agent.
func Liveness(ctx context.Context, s *fairway.Session) (bool, string) {
	if host, _ := os.Hostname(); s.Host != "" && host != "" && s.Host != host {
		return true, "on host " + s.Host + ", not this one: its lease decides"
	}
	if s.TmuxSocket != "" && s.TmuxPane != "" {
		t, err := NewTmux(s.TmuxSocket)
		if err != nil {
			return false, err.Error()
		}
		return t.PaneAlive(ctx, s.TmuxPane)
	}
	if s.PID != 0 {
		return ProcessAlive(s.PID, s.PIDStart)
	}
	return true, "no pid or tmux pane was recorded to check: its lease decides"
}
