package provider

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"fairway"
)

// Tmux drives tmux on a socket of Fairway's own (tmux -L NAME), never the
// user's default socket: Fairway must not see, kill or type into the
// user's own sessions.
type Tmux struct {
	Socket string
}

var socketRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^fairway[a-z0-9._-]*$`) }) // compiled on first use

// NewTmux returns a driver for socket, which must be one of Fairway's
// own: its name starts with "fairway".
func NewTmux(socket string) (*Tmux, error) {
	if !socketRE().MatchString(socket) {
		return nil, fmt.Errorf("tmux socket %q is not one of Fairway's own (a name starting with \"fairway\"): Fairway never uses the default or a user's socket", socket)
	}
	return &Tmux{Socket: socket}, nil
}

func (t *Tmux) run(ctx context.Context, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "tmux", append([]string{"-L", t.Socket}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tmux %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Start starts argv in a new detached tmux session named name, in dir,
// with env (NAME=VALUE) added to its environment, and returns its pane id
// and the pid of the pane's process.
func (t *Tmux) Start(ctx context.Context, name, dir string, argv []string, env ...string) (pane string, pid int, err error) {
	args := []string{"new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-P", "-F", "#{pane_id} #{pane_pid}"}
	if dir != "" {
		args = append(args, "-c", dir)
	}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	out, err := t.run(ctx, append(append(args, "--"), argv...)...)
	if err != nil {
		return "", 0, err
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "%s %d", &pane, &pid); err != nil {
		return "", 0, fmt.Errorf("tmux new-session printed %q: %v", out, err)
	}
	return pane, pid, nil
}

// PaneAlive confirms that pane exists on the socket and its process has
// not exited.
func (t *Tmux) PaneAlive(ctx context.Context, pane string) (bool, string) {
	out, err := t.run(ctx, "display-message", "-p", "-t", pane, "#{pane_dead}")
	if err != nil {
		return false, fmt.Sprintf("tmux pane %s on socket %s is gone", pane, t.Socket)
	}
	if strings.TrimSpace(out) == "1" {
		return false, fmt.Sprintf("the process in tmux pane %s exited", pane)
	}
	return true, ""
}

// Keep makes the pane stay when its process exits, so how it ended can
// be read (PaneExit), and copies everything the pane shows, as it is
// written, to the end of the file path.
func (t *Tmux) Keep(ctx context.Context, pane, path string) error {
	if _, err := t.run(ctx, "set-option", "-t", pane, "remain-on-exit", "on"); err != nil {
		return err
	}
	_, err := t.run(ctx, "pipe-pane", "-o", "-t", pane, "cat >> "+shellQuote(path))
	return err
}

// PaneExit reports whether the pane's process ended, and how: its exit
// status, or 128+signal when a signal killed it. The pane must have been
// kept (Keep); a pane that is gone altogether is reported ended with
// code -1.
func (t *Tmux) PaneExit(ctx context.Context, pane string) (ended bool, exit Exit, err error) {
	out, err := t.run(ctx, "display-message", "-p", "-t", pane, "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}")
	if err != nil {
		return true, Exit{Code: -1, Signal: "pane gone"}, nil
	}
	f := strings.Fields(out)
	if len(f) == 0 || f[0] != "1" {
		return false, Exit{}, nil
	}
	var code, sig int
	switch {
	case len(f) < 2:
		// tmux marks the pane dead when its terminal closes, which can
		// come before it has reaped the process and read how it ended.
		return true, Exit{Code: -1, Signal: ExitUnknown}, nil
	case strings.HasPrefix(out, "1  "): // no status: a signal ended it
		fmt.Sscanf(f[1], "%d", &sig)
	default:
		fmt.Sscanf(f[1], "%d", &code)
	}
	if sig > 0 {
		return true, Exit{Code: 128 + sig, Signal: syscall.Signal(sig).String()}, nil
	}
	return true, Exit{Code: code}, nil
}

// ExitUnknown is the Signal of an Exit whose code tmux has not read yet.
const ExitUnknown = "exit status not known yet"

// KillSession ends one tmux session of Fairway's socket.
func (t *Tmux) KillSession(ctx context.Context, name string) error {
	_, err := t.run(ctx, "kill-session", "-t", name)
	return err
}

// AttachArgs is the command that attaches a terminal to the pane on
// Fairway's socket, for a human to look at and type into.
func (t *Tmux) AttachArgs(pane string) []string {
	return []string{"tmux", "-L", t.Socket, "attach-session", "-t", pane}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Capture returns the pane's visible text.
func (t *Tmux) Capture(ctx context.Context, pane string) (string, error) {
	return t.run(ctx, "capture-pane", "-p", "-t", pane)
}

// Kill ends the tmux server on Fairway's socket and every pane on it.
func (t *Tmux) Kill(ctx context.Context) error {
	_, err := t.run(ctx, "kill-server")
	return err
}

// promptRE matches a last line that waits for the user: a shell or REPL
// prompt, or a question.
var promptRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:[$#>%❯?:]|\[[yY]/[nN]\]|\([yY]/[nN]\))\s*$`) }) // compiled on first use

// Watch turns successive captures of a pane into observations: waiting
// at a prompt when the screen stopped changing on a prompt, screen
// stable when it stopped changing elsewhere. Each is reported once per
// stretch of stillness.
type Watch struct {
	// Stable is how many equal captures in a row make a still screen.
	Stable int

	last     string
	same     int
	reported bool
}

// Observe takes the next capture and returns the observation it makes,
// if any: a source and the last non-empty line as detail.
func (w *Watch) Observe(screen string) (source, detail string, ok bool) {
	if screen != w.last {
		w.last, w.same, w.reported = screen, 1, false
		return "", "", false
	}
	w.same++
	if w.reported || w.same < max(w.Stable, 2) {
		return "", "", false
	}
	w.reported = true
	line := lastLine(screen)
	if promptRE().MatchString(line) {
		return fairway.SourceWaiting, line, true
	}
	return fairway.SourceScreenStable, line, true
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}
