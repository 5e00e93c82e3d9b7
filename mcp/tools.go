package mcp

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"

	"fairway"
	"fairway/policy"
	"fairway/prime"
)

// tool is one MCP tool: its name, what it teaches the agent, its input
// schema, and the call.
type tool struct {
	name, description string
	props             map[string]any
	required          []string
	call              func(s *Server, ctx context.Context, args map[string]any) (any, error)
}

func str(desc string) map[string]any  { return map[string]any{"type": "string", "description": desc} }
func num(desc string) map[string]any  { return map[string]any{"type": "integer", "description": desc} }
func flag(desc string) map[string]any { return map[string]any{"type": "boolean", "description": desc} }

func argString(args map[string]any, name string) (string, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fairway.FieldError(name, "must be a string")
	}
	return s, nil
}

func need(args map[string]any, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		v, err := argString(args, n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// tools is every tool. Approving, waiving, closing and cancelling are
// deliberately absent.
var tools = []tool{
	{name: "next", description: "Find work: the open tasks that are ready now, highest priority first. mine keeps the ones you own; safe_only keeps safe fallback work for when a lane waits. Start one with task_take.",
		props: map[string]any{"lane": str("only this lane"), "limit": num("at most this many"), "safe_only": flag("only safe fallback work"), "mine": flag("only tasks you own"), "owner": str("only tasks this actor owns")},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			lane, err := argString(a, "lane")
			if err != nil {
				return nil, err
			}
			f := fairway.NextFilter{Lane: lane}
			if n, ok := a["limit"].(float64); ok {
				f.Limit = int(n)
			}
			f.SafeOnly, _ = a["safe_only"].(bool)
			if f.Owner, err = argString(a, "owner"); err != nil {
				return nil, err
			}
			if mine, _ := a["mine"].(bool); mine {
				if f.Owner != "" {
					return nil, fairway.FieldError("mine", "give mine or owner, not both")
				}
				me, err := s.Service.Whoami(s.acting())
				if err != nil {
					return nil, err
				}
				f.Owner = me.Name
			}
			return s.Service.Next(s.acting(), f)
		}},
	{name: "prime", description: "Read this first, and again after your context was compacted: who you are, your live session and the handoff waiting for you, your work (ready first) and safe fallback work, the rules you cannot break, the evidence kinds your gates ask for and what success means for each, and the loop in five steps.",
		props: map[string]any{},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			return prime.Build(s.acting(), s.Service, prime.MCP)
		}},
	{name: "task_take", description: "Start an open task as yours: you become its owner if it has none, and it moves to in_progress, atomically (if another agent took it first you are told who). Refused for a task someone else owns.",
		props: map[string]any{"task": str("task key")}, required: []string{"task"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "task")
			if err != nil {
				return nil, err
			}
			return s.Service.TakeTask(s.acting(), v[0])
		}},
	{name: "task_show", description: "Show a task, its gate (what is unsatisfied and what would satisfy it) and the handoff its last session left. Read this before working.",
		props: map[string]any{"task": str("task key")}, required: []string{"task"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "task")
			if err != nil {
				return nil, err
			}
			t, err := s.Service.GetTask(s.acting(), v[0])
			if err != nil {
				return nil, err
			}
			gate, err := s.Service.ExplainGate(s.acting(), v[0])
			if err != nil {
				return nil, err
			}
			sessions, err := s.Service.ListSessions(s.acting(), fairway.SessionFilter{Task: v[0]})
			if err != nil {
				return nil, err
			}
			out := map[string]any{"task": t, "gate": gate, "sessions": sessions}
			var h *fairway.Session
			for _, x := range sessions {
				if x.Handoff != "" && (h == nil || !x.EndedAt.Before(h.EndedAt)) {
					h = x
				}
			}
			if h != nil {
				out["handoff"] = map[string]any{"session": h.ID, "actor": h.Actor, "summary": h.Handoff, "at": h.EndedAt}
			}
			return out, nil
		}},
	{name: "search", description: "Find tasks, claims, handoffs and evidence by their words (task titles and scope, claim and handoff text, evidence kind, filename and note), best first. Every word must match; the text is words only, never query syntax.",
		props:    map[string]any{"text": str("the words to find"), "kind": str("only task, claim, evidence or handoff"), "lane": str("only hits on tasks of this lane"), "limit": num("at most this many (default 20)")},
		required: []string{"text"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "text", "kind", "lane")
			if err != nil {
				return nil, err
			}
			q := fairway.SearchQuery{Text: v[0], Kind: v[1], Lane: v[2]}
			if n, ok := a["limit"].(float64); ok {
				q.Limit = int(n)
			}
			return s.Service.Search(s.acting(), q)
		}},
	{name: "session_attach", description: "Attach a session to a task before working on it. Every later call of this server acts through the session; heartbeat it before its lease runs out. Read the returned handoff first.",
		props:    map[string]any{"task": str("task key"), "provider": str("codex, claude, gemini or another name"), "replace": str("a live session to supersede explicitly")},
		required: []string{"task", "provider"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "task", "provider", "replace")
			if err != nil {
				return nil, err
			}
			out, err := s.Service.AttachSession(s.acting(), fairway.SessionAttach{Task: v[0], Provider: v[1], Replace: v[2]})
			if err != nil {
				return nil, err
			}
			s.actThrough(out.Session)
			// The credential stays with the server; the agent needs none.
			return map[string]any{"session": out.Session, "handoff": out.Handoff}, nil
		}},
	{name: "session_heartbeat", description: "Renew your session's lease. If the session was replaced or expired this fails: stop working and attach again.",
		props: map[string]any{"session": str("session id")}, required: []string{"session"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "session")
			if err != nil {
				return nil, err
			}
			return s.Service.HeartbeatSession(s.acting(), v[0])
		}},
	{name: "session_detach", description: "Hand off and end your session: the summary is what the next session reads first (what is done, what is next, what is risky). Never put a secret in it.",
		props: map[string]any{"session": str("session id"), "handoff": str("handoff summary")}, required: []string{"session", "handoff"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "session", "handoff")
			if err != nil {
				return nil, err
			}
			return s.Service.DetachSession(s.acting(), v[0], v[1])
		}},
	{name: "evidence_add", description: "Record evidence for a task from a file path or from text: logs, reports, scan output. Evidence is immutable; chat and transcripts are kind context and never count as proof.",
		props:    map[string]any{"task": str("task key"), "kind": str("evidence kind, e.g. log, test-report, scan-output, context"), "path": str("a file to record"), "text": str("text to record, when there is no file"), "note": str("a short note")},
		required: []string{"task", "kind"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "task", "kind", "path", "text", "note")
			if err != nil {
				return nil, err
			}
			in := fairway.EvidenceAdd{Task: v[0], Kind: v[1], Note: v[4]}
			var body []byte
			switch {
			case v[2] != "" && v[3] != "":
				return nil, fairway.FieldError("path", "give a path or text, not both")
			case v[2] != "":
				if body, err = s.readProjectFile(v[2]); err != nil {
					return nil, fairway.FieldError("path", "cannot read %s: %v", v[2], err)
				}
				in.Filename = filepath.Base(v[2])
			case v[3] != "":
				body = []byte(v[3])
			default:
				return nil, fairway.FieldError("path", "give a file path or text to record")
			}
			return s.Service.AddEvidence(s.acting(), in, fairway.EvidenceParts{Content: bytes.NewReader(body)})
		}},
	{name: "claim", description: "Record what you say about your work (\"tests pass\", \"done\"). Reviewers see it; it is never evidence and never closes anything.",
		props: map[string]any{"task": str("task key"), "text": str("the claim")}, required: []string{"task", "text"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "task", "text")
			if err != nil {
				return nil, err
			}
			return s.Service.AddClaim(s.acting(), fairway.ClaimAdd{Task: v[0], Text: v[1]})
		}},
	{name: "request_review", description: "Move a task in progress to in_review once its evidence is recorded. Independent humans review and close it; you cannot.",
		props: map[string]any{"task": str("task key"), "note": str("what to look at")}, required: []string{"task"},
		call: func(s *Server, ctx context.Context, a map[string]any) (any, error) {
			v, err := need(a, "task", "note")
			if err != nil {
				return nil, err
			}
			return s.Service.TransitionTask(s.acting(), v[0], fairway.Transition{Status: fairway.StatusInReview, Note: v[1]})
		}},
}

func toolByName(name string) (*tool, bool) {
	for i := range tools {
		if tools[i].name == name {
			return &tools[i], true
		}
	}
	return nil, false
}

// toolList describes every tool. The evidence kinds, and what success
// means for each, come from the policy in force when there is one.
func (s *Server) toolList() []map[string]any {
	kinds := kindsText(s.policy())
	var out []map[string]any
	for _, t := range tools {
		schema := map[string]any{"type": "object", "properties": t.props}
		if len(t.required) > 0 {
			schema["required"] = t.required
		}
		desc := t.description
		if t.name == "evidence_add" {
			desc += " Kinds: " + kinds
		}
		out = append(out, map[string]any{"name": t.name, "description": desc, "inputSchema": schema})
	}
	return out
}

// policy loads the policy in force; nil when there is none or it cannot
// be read, and the defaults then apply.
func (s *Server) policy() *policy.Policy {
	rec, err := s.Service.ActivePolicy(s.acting())
	if err != nil {
		return nil
	}
	p, err := policy.Load(rec.File, []byte(rec.Source))
	if err != nil {
		return nil
	}
	return p
}

// kindsText lists each evidence kind with what success means for it.
func kindsText(p *policy.Policy) string {
	var b strings.Builder
	for i, h := range p.KindsHelp() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(h.Kind + " (" + h.Success + ")")
	}
	return b.String() + "."
}
