package provider_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"fairway"
	"fairway/provider"
)

func TestShell_KilledProcessIsNotConfirmedAlive(t *testing.T) {
	ctx := context.Background()
	p, err := provider.StartShell(ctx, []string{"sleep", "60"}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := &fairway.Session{Provider: "shell", PID: p.PID, PIDStart: p.Start}
	if ok, why := provider.Liveness(ctx, s); !ok {
		t.Fatalf("running process not confirmed: %s", why)
	}
	// The same pid with another start time is another process.
	if ok, why := provider.Liveness(ctx, &fairway.Session{PID: p.PID, PIDStart: "1"}); ok || !strings.Contains(why, "another process") {
		t.Fatalf("reused pid: %t %q", ok, why)
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait()
	if err != nil || exit.Code != 137 || exit.Signal != "killed" {
		t.Fatalf("exit = %+v, %v; want 137 killed", exit, err)
	}
	if ok, why := provider.Liveness(ctx, s); ok || why != fmt.Sprintf("pid %d is gone", p.PID) {
		t.Fatalf("killed process: %t %q", ok, why)
	}
	// Nothing to check here (an agent attached over MCP, or another
	// host's session): left to its lease, not interrupted by a restart.
	if ok, why := provider.Liveness(ctx, &fairway.Session{Provider: "codex"}); !ok || !strings.Contains(why, "its lease decides") {
		t.Fatalf("nothing recorded: %t %q", ok, why)
	}
	if ok, why := provider.Liveness(ctx, &fairway.Session{Provider: "codex", Host: "another-host.invalid", PID: p.PID}); !ok || !strings.Contains(why, "another-host.invalid") {
		t.Fatalf("another host's pid: %t %q", ok, why)
	}
}

func TestShell_ExitCodeIsReported(t *testing.T) {
	p, err := provider.StartShell(context.Background(), []string{"sh", "-c", "exit 3"}, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if exit, err := p.Wait(); err != nil || exit.Code != 3 || exit.Signal != "" {
		t.Fatalf("exit = %+v, %v", exit, err)
	}
}

func TestTmux_RefusesSocketsNotItsOwn(t *testing.T) {
	for _, s := range []string{"", "default", "work", "../fairway", "/tmp/fairway"} {
		if _, err := provider.NewTmux(s); err == nil {
			t.Errorf("NewTmux(%q) accepted a socket that is not Fairway's own", s)
		}
	}
}

func TestTmux_PaneIsWatchedAndConfirmed(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt package: tmux); skipping the tmux adapter test")
	}
	ctx := context.Background()
	tm, err := provider.NewTmux(fmt.Sprintf("fairway-test-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Kill(context.Background()) })
	pane, pid, err := tm.Start(ctx, "s1", t.TempDir(), []string{"sh", "-c", "printf 'continue? [y/N] '; read x; echo got $x; sleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	if pid <= 0 || !strings.HasPrefix(pane, "%") {
		t.Fatalf("pane %q pid %d", pane, pid)
	}
	s := &fairway.Session{Provider: "tmux", TmuxSocket: tm.Socket, TmuxPane: pane}
	if ok, why := provider.Liveness(ctx, s); !ok {
		t.Fatalf("live pane not confirmed: %s", why)
	}
	// Capture until the prompt is drawn; the watch then reports waiting.
	w := &provider.Watch{Stable: 2}
	var source, detail string
	for i := 0; i < 2000 && source == ""; i++ {
		screen, err := tm.Capture(ctx, pane)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(screen, "[y/N]") {
			source, detail, _ = w.Observe(screen)
		}
	}
	if source != fairway.SourceWaiting || detail != "continue? [y/N]" {
		t.Fatalf("observation = %q %q, want waiting at the prompt", source, detail)
	}
	if err := tm.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, why := provider.Liveness(ctx, s); ok || !strings.Contains(why, "is gone") {
		t.Fatalf("killed pane: %t %q", ok, why)
	}
}

func TestWatch_StableScreenReportedOnce(t *testing.T) {
	w := &provider.Watch{Stable: 3}
	var got []string
	for _, screen := range []string{"building\n", "building\n", "building\n", "building\n", "done\nok\n", "done\nok\n", "done\nok\n"} {
		if src, detail, ok := w.Observe(screen); ok {
			got = append(got, src+":"+detail)
		}
	}
	want := []string{"screen-stable:building", "screen-stable:ok"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("observations %v, want %v", got, want)
	}
}
