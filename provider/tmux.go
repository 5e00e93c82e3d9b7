package provider

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"

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
// and returns its pane id and the pid of the pane's process.
func (t *Tmux) Start(ctx context.Context, name, dir string, argv []string) (pane string, pid int, err error) {
	args := []string{"new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-P", "-F", "#{pane_id} #{pane_pid}"}
	if dir != "" {
		args = append(args, "-c", dir)
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
