package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"fairway"
)

// The agents' own hook systems call `fairway hook claude` and `fairway
// hook codex`: the agent tells Fairway its provider session id, where its
// turns begin and end, when it waits for the user and when it stopped.
// Each call records that as an observation with source "hook" on the
// Fairway session named by $FAIRWAY_SESSION (the credential in
// $FAIRWAY_SESSION_TOKEN, as `session start` gives its command), and
// heartbeats it.
//
// A hook must never stand in the agent's way: outside a Fairway session
// it does nothing, and a failure exits 1, which the agents show and pass
// over (Claude Code reads exit 2 as "block", which this never returns).

// claudeHookInput is the JSON Claude Code passes a command hook on
// standard input: the common fields and those of the events Fairway
// reads (https://code.claude.com/docs/en/hooks#hook-input).
type claudeHookInput struct {
	SessionID        string `json:"session_id"`
	TranscriptPath   string `json:"transcript_path"`
	CWD              string `json:"cwd"`
	HookEventName    string `json:"hook_event_name"`
	Source           string `json:"source"`            // SessionStart: startup, resume, clear, compact
	Reason           string `json:"reason"`            // SessionEnd
	Message          string `json:"message"`           // Notification
	NotificationType string `json:"notification_type"` // Notification
	ToolName         string `json:"tool_name"`         // PreToolUse, PostToolUse
	StopHookActive   bool   `json:"stop_hook_active"`  // Stop, SubagentStop
}

// codexNotify is the JSON argument Codex appends to its `notify`
// program's command line after each turn
// (https://github.com/openai/codex/blob/main/docs/config.md#notify).
type codexNotify struct {
	Type                 string   `json:"type"`
	ThreadID             string   `json:"thread-id"`
	TurnID               string   `json:"turn-id"`
	CWD                  string   `json:"cwd"`
	InputMessages        []string `json:"input-messages"`
	LastAssistantMessage string   `json:"last-assistant-message"`
}

// hookEvent is what a hook call records: an observation detail (empty
// for a heartbeat alone) and the provider session id it named.
type hookEvent struct {
	detail          string
	providerSession string
}

// maxHookInput bounds the payload a hook reads.
const maxHookInput = 1 << 20

func init() {
	register(&command{
		name: "hook claude", summary: "Claude Code hook: record the agent's session id, turns, waits and stop on its Fairway session", args: "< EVENT-JSON",
		example: `fairway hook claude < event.json   # as Claude Code runs it, inside a session ($FAIRWAY_SESSION, $FAIRWAY_SESSION_TOKEN)
# .claude/settings.json: {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "fairway hook claude"}]}], ...}} (fairway setup claude writes it)`,
		setup: noFlags(func(a *app, pos []string) error {
			if len(pos) != 0 {
				return hookFailed(a, usagef("Claude Code passes the event on standard input; want no arguments, got %d", len(pos)))
			}
			b, err := io.ReadAll(io.LimitReader(a.stdin, maxHookInput+1))
			if err != nil {
				return hookFailed(a, err)
			}
			ev, err := claudeEvent(b)
			if err != nil {
				return hookFailed(a, err)
			}
			return recordHook(a, ev)
		}),
	})
	register(&command{
		name: "hook codex", summary: "Codex notify program: record each completed turn on the agent's Fairway session", args: "NOTIFICATION-JSON",
		example: `fairway hook codex '{"type":"agent-turn-complete","thread-id":"…","turn-id":"1"}'   # as Codex runs it, inside a session
# ~/.codex/config.toml: notify = ["fairway", "hook", "codex"] (fairway setup codex writes it)`,
		setup: func(fs *flag.FlagSet) runFunc {
			return func(a *app, pos []string) error {
				if len(pos) == 0 {
					return hookFailed(a, usagef("Codex appends the notification JSON as the last argument; none was given"))
				}
				ev, err := codexEvent([]byte(pos[len(pos)-1]))
				if err != nil {
					return hookFailed(a, err)
				}
				return recordHook(a, ev)
			}
		},
	})
}

// claudeEvent turns a Claude Code hook payload into what Fairway records.
func claudeEvent(b []byte) (hookEvent, error) {
	if len(b) > maxHookInput {
		return hookEvent{}, fairway.FieldError("stdin", "the hook event is larger than %d bytes", maxHookInput)
	}
	var in claudeHookInput
	if err := json.Unmarshal(b, &in); err != nil {
		return hookEvent{}, fairway.FieldError("stdin", "is not a Claude Code hook event (JSON with session_id and hook_event_name): %v", err)
	}
	if in.HookEventName == "" {
		return hookEvent{}, fairway.FieldError("hook_event_name", "is missing: this is not a Claude Code hook event")
	}
	ev := hookEvent{providerSession: strings.TrimSpace(in.SessionID)}
	switch in.HookEventName {
	case "SessionStart":
		ev.detail = "claude SessionStart (" + orText(in.Source, "startup") + "): provider session " + ev.providerSession
	case "UserPromptSubmit":
		ev.detail = "claude UserPromptSubmit: a turn began"
	case "Stop":
		ev.detail = "claude Stop: the turn ended; waiting for the user"
	case "SubagentStop":
		ev.detail = "claude SubagentStop: a subagent's turn ended"
	case "Notification":
		switch {
		case in.NotificationType == "idle_prompt" || strings.Contains(strings.ToLower(in.Message), "waiting for your input"):
			ev.detail = "claude Notification: waiting for the user: " + in.Message
		case in.NotificationType == "permission_prompt" || strings.Contains(strings.ToLower(in.Message), "permission"):
			ev.detail = "claude Notification: asks the user for permission: " + in.Message
		default:
			ev.detail = "claude Notification: " + in.Message
		}
	case "SessionEnd":
		ev.detail = "claude SessionEnd: the agent stopped (" + orText(in.Reason, "no reason given") + ")"
	default:
		// Tool calls and the rest only show the agent is alive.
	}
	ev.detail = hookLine(ev.detail)
	return ev, nil
}

// codexEvent turns a Codex notification into what Fairway records.
func codexEvent(b []byte) (hookEvent, error) {
	if len(b) > maxHookInput {
		return hookEvent{}, fairway.FieldError("notification", "is larger than %d bytes", maxHookInput)
	}
	var in codexNotify
	if err := json.Unmarshal(b, &in); err != nil {
		return hookEvent{}, fairway.FieldError("notification", "is not a Codex notification (JSON with type and thread-id): %v", err)
	}
	if in.Type == "" {
		return hookEvent{}, fairway.FieldError("type", "is missing: this is not a Codex notification")
	}
	ev := hookEvent{providerSession: strings.TrimSpace(in.ThreadID)}
	switch in.Type {
	case "agent-turn-complete":
		ev.detail = "codex agent-turn-complete: turn " + orText(in.TurnID, "?") + " ended; waiting for the user"
		if m := strings.TrimSpace(in.LastAssistantMessage); m != "" {
			// What the agent says is context, never proof.
			ev.detail += "; it said: " + m
		}
	default:
		ev.detail = "codex " + in.Type
	}
	ev.detail = hookLine(ev.detail)
	return ev, nil
}

// hookLine keeps an observation detail to one readable line.
func hookLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

// recordHook records ev on the session of $FAIRWAY_SESSION and heartbeats
// it. Outside a Fairway session it does nothing.
func recordHook(a *app, ev hookEvent) error {
	id := firstNonEmpty(a.session, a.getenv("FAIRWAY_SESSION"))
	if id == "" {
		fmt.Fprintln(a.stderr, "fairway: not in a Fairway session ($FAIRWAY_SESSION is not set); nothing recorded")
		return nil
	}
	svc, ctx, err := a.connect()
	if err != nil {
		return hookFailed(a, err)
	}
	if ev.detail != "" {
		o := fairway.SessionObserve{Session: id, Source: fairway.SourceHook, Detail: ev.detail, ProviderSession: ev.providerSession}
		if _, err := svc.ObserveSession(ctx, o); err != nil {
			// What the agent said may hold what the scanner refuses: the
			// event is still recorded, without its words.
			if fairway.ErrorCode(err) != fairway.EINVALID {
				return hookFailed(a, err)
			}
			o.Detail, _, _ = strings.Cut(o.Detail, "; it said: ")
			if _, err := svc.ObserveSession(ctx, o); err != nil {
				return hookFailed(a, err)
			}
		}
	}
	s, err := svc.HeartbeatSession(ctx, id)
	if err != nil {
		return hookFailed(a, err)
	}
	if a.json {
		return a.printJSON(s)
	}
	return nil
}

// hookFailed reports err and exits 1, never 2: Claude Code takes exit 2
// as a blocking answer (a Stop hook's 2 keeps the agent going).
func hookFailed(a *app, err error) error {
	var st exitStatus
	if errors.As(err, &st) {
		return exitStatus{exitFailure}
	}
	a.printError(err)
	return exitStatus{exitFailure}
}
