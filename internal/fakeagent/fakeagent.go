// Package fakeagent is a stand-in for an AI coding agent, for tests that
// must not depend on one being installed. It behaves as the agents do at
// their edges: it draws a banner with its session id, a question and a
// spinner, reads the user's answer, keeps a transcript under its session
// id and can resume one by id (printing the id again, as a resumed
// conversation does), and calls Fairway's hook commands the way Claude
// Code's hooks and Codex's notify program call them. On cue it hangs,
// kills itself with SIGKILL, hands off, or claims "done" while the tests
// it ran failed.
//
// Tests run it as a real subprocess: a test binary whose TestMain calls
// Main when EnvVar is set.
package fakeagent

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// EnvVar, set to 1, makes a test binary run the fake agent. It is removed
// from the environment of the commands the agent runs.
const EnvVar = "FAIRWAY_FAKEAGENT"

// Cues: what the agent does after its first turn's work.
const (
	CueFinish    = "finish"     // end the turn, wait for the user, stop: exit 0
	CueHang      = "hang"       // stop responding, output included, until killed
	CueKill      = "kill"       // SIGKILL itself mid-turn
	CueHandoff   = "handoff"    // detach its Fairway session with a handoff, then exit 0
	CueFalseDone = "false-done" // run the tests (they fail), then claim "done, all tests pass"
	CueZombie    = "zombie"     // wait for a line on stdin, then try to record a claim
)

type agent struct {
	provider, fairway, task, transcript, id string
	out                                     io.Writer
	env                                     []string
	turn                                    int
}

// Main runs the fake agent with args and returns its exit code.
func Main(args []string, stdin io.Reader, stdout io.Writer) int {
	fs := flag.NewFlagSet("fakeagent", flag.ContinueOnError)
	a := &agent{out: stdout}
	fs.StringVar(&a.provider, "provider", "claude", "whose hooks to call: claude (hook events on stdin) or codex (notify argument)")
	fs.StringVar(&a.fairway, "fairway", "fairway", "the fairway binary its hooks run")
	fs.StringVar(&a.task, "task", "", "the task it works on (for claims and runs)")
	fs.StringVar(&a.transcript, "transcripts", os.TempDir(), "folder of transcripts, one per session id")
	resume := fs.String("resume", "", "resume this session id")
	cue := fs.String("cue", CueFinish, "finish, hang, kill, handoff, false-done or zombie")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvVar+"=") {
			a.env = append(a.env, kv)
		}
	}
	in := bufio.NewReader(stdin)
	source := "startup"
	if *resume != "" {
		a.id, source = *resume, "resume"
		b, err := os.ReadFile(a.transcriptPath())
		if err != nil {
			fmt.Fprintf(a.out, "no conversation found with session id: %s\r\n", *resume)
			return 1
		}
		a.turn = strings.Count(string(b), "\n")
		fmt.Fprintf(a.out, "\x1b[1mfake agent\x1b[0m resumed %d messages\r\nsession id: %s\r\n", a.turn, a.id)
	} else {
		a.id = newUUID()
		fmt.Fprintf(a.out, "\x1b[1mfake agent\x1b[0m\r\nsession id: %s\r\n", a.id)
	}
	a.claudeHook(map[string]any{"hook_event_name": "SessionStart", "source": source, "model": "fake-1"})

	fmt.Fprint(a.out, "Proceed with the change? [y/N] ")
	answer, _ := in.ReadString('\n')
	answer = strings.TrimSpace(answer)
	a.log("user", answer)
	a.claudeHook(map[string]any{"hook_event_name": "UserPromptSubmit", "prompt": answer})
	for i, frame := range []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴"} {
		fmt.Fprintf(a.out, "\r%s working (%d/6)", frame, i+1)
		time.Sleep(15 * time.Millisecond)
	}
	fmt.Fprint(a.out, "\r\n")

	switch *cue {
	case CueHang:
		select {}
	case CueKill:
		a.log("assistant", "(killed mid-turn)")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case CueHandoff:
		a.say("schema migrated; next: run the smoke suite")
		code := a.fairwayRun(nil, "session", "detach", "--handoff", "schema migrated; next: run the smoke suite (agent session "+a.id+")")
		a.endTurn("handed off")
		return code
	case CueFalseDone:
		code := a.fairwayRun(nil, "run", "--task", a.task, "--", "sh", "-c", "echo '--- FAIL: TestCapacity (0.00s)'; echo FAIL; exit 1")
		fmt.Fprintf(a.out, "tests exited %d\r\n", code)
		a.say("Done! All tests pass.")
		a.fairwayRun(nil, "claim", "--task", a.task, "done: all tests pass")
		a.endTurn("Done! All tests pass.")
		return 0
	case CueZombie:
		fmt.Fprint(a.out, "waiting> ")
		in.ReadString('\n')
		code := a.fairwayRun(nil, "claim", "--task", a.task, "still working on it")
		fmt.Fprintf(a.out, "claim exited %d\r\n", code)
		return code
	}
	a.say("The change is made.")
	a.endTurn("The change is made.")
	return 0
}

func (a *agent) transcriptPath() string { return filepath.Join(a.transcript, a.id+".jsonl") }

// log appends a message to the session's transcript.
func (a *agent) log(role, text string) {
	f, err := os.OpenFile(a.transcriptPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(map[string]string{"type": role, "session_id": a.id, "text": text})
	f.Write(append(b, '\n'))
}

func (a *agent) say(text string) {
	a.log("assistant", text)
	fmt.Fprintf(a.out, "● %s\r\n", text)
}

// endTurn reports the end of a turn as each agent does: Claude Code's
// Stop and idle Notification hooks and SessionEnd, or Codex's notify.
func (a *agent) endTurn(last string) {
	a.turn++
	if a.provider == "codex" {
		b, _ := json.Marshal(map[string]any{"type": "agent-turn-complete", "thread-id": a.id, "turn-id": fmt.Sprint(a.turn),
			"cwd": ".", "input-messages": []string{"y"}, "last-assistant-message": last})
		a.fairwayRun(nil, "hook", "codex", string(b))
		return
	}
	a.claudeHook(map[string]any{"hook_event_name": "Stop", "stop_hook_active": false})
	a.claudeHook(map[string]any{"hook_event_name": "Notification", "message": "Claude is waiting for your input", "notification_type": "idle_prompt"})
	a.claudeHook(map[string]any{"hook_event_name": "SessionEnd", "reason": "prompt_input_exit"})
}

// claudeHook runs `fairway hook claude` with the event on stdin, shaped
// as Claude Code passes it.
func (a *agent) claudeHook(ev map[string]any) {
	if a.provider != "claude" {
		return
	}
	ev["session_id"], ev["transcript_path"], ev["permission_mode"] = a.id, a.transcriptPath(), "default"
	ev["cwd"], _ = os.Getwd()
	b, _ := json.Marshal(ev)
	a.fairwayRun(b, "hook", "claude")
}

// fairwayRun runs the fairway binary, its output into the agent's.
func (a *agent) fairwayRun(stdin []byte, args ...string) int {
	cmd := exec.Command(a.fairway, args...)
	cmd.Env = a.env
	cmd.Stdout, cmd.Stderr = a.out, a.out
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(a.out, "fake agent: %v\r\n", err)
		return 1
	}
	return 0
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
