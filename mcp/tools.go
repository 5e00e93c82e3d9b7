package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"fairway"
	"fairway/policy"
	"fairway/prime"
	"fairway/scope"
)

// tool is one MCP tool: its name, what it teaches the agent, its input
// schema, and the call. localOnly tools read or run things on the
// machine the server runs on: only a local (stdio) server offers them;
// a remoteOnly tool is offered over HTTP instead.
type tool struct {
	name, description string
	props             map[string]any
	required          []string
	localOnly         bool
	// remoteOnly tools stand in over HTTP for a localOnly one.
	remoteOnly bool
	call       func(s *Server, c *call, args map[string]any) (any, error)
}

func str(desc string) map[string]any  { return map[string]any{"type": "string", "description": desc} }
func num(desc string) map[string]any  { return map[string]any{"type": "integer", "description": desc} }
func flag(desc string) map[string]any { return map[string]any{"type": "boolean", "description": desc} }
func strs(desc string) map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc}
}

// schema is the tool's input schema. No argument beyond the declared
// ones is accepted: a tool never grows a way to approve or close.
func (t *tool) schema() map[string]any {
	props := t.props
	if props == nil {
		props = map[string]any{}
	}
	schema := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(t.required) > 0 {
		schema["required"] = t.required
	}
	return schema
}

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

func argStrings(args map[string]any, name string) ([]string, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fairway.FieldError(name, "must be a list of strings")
	}
	out := make([]string, len(list))
	for i, x := range list {
		if out[i], ok = x.(string); !ok {
			return nil, fairway.FieldError(name, "item %d must be a string", i)
		}
	}
	return out, nil
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
	{name: "next", description: "Find work: the open tasks that are ready now, highest priority first. mine keeps the ones you own; safe_only keeps safe fallback work for when a lane waits. When nothing you asked for is ready, safe_fallback lists the safe work that is (fallback never loosens a control). Start one with task_take.",
		props: map[string]any{"lane": str("only this lane"), "limit": num("at most this many"), "safe_only": flag("only safe fallback work"), "mine": flag("only tasks you own"), "owner": str("only tasks this actor owns")},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
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
				me, err := s.Service.Whoami(c.ctx)
				if err != nil {
					return nil, err
				}
				f.Owner = me.Name
			}
			ready, err := s.Service.Next(c.ctx, f)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"tasks": ready}
			if len(ready) == 0 && !f.SafeOnly {
				safe, err := s.Service.Next(c.ctx, fairway.NextFilter{Lane: f.Lane, Limit: f.Limit, SafeOnly: true})
				if err != nil {
					return nil, err
				}
				if len(safe) > 0 {
					out["safe_fallback"] = safe
					out["hint"] = "nothing you asked for is ready: this safe fallback work is; take one with task_take"
				} else {
					out["hint"] = "nothing is ready, and no safe fallback work either: task_show a blocked task to see what it waits on"
				}
			}
			return out, nil
		}},
	{name: "prime", description: "Read this first, and again after your context was compacted: who you are, your live session and the handoff waiting for you, your work (ready first) and safe fallback work, the rules you cannot break, the evidence kinds your gates ask for and what success means for each, and the loop in five steps.",
		props: map[string]any{},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			return prime.Build(c.ctx, s.Service, prime.MCP)
		}},
	{name: "task_take", description: "Start an open task as yours: you become its owner if it has none, and it moves to in_progress, atomically (if another agent took it first you are told who). Refused for a task someone else owns.",
		props: map[string]any{"task": str("task key")}, required: []string{"task"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task")
			if err != nil {
				return nil, err
			}
			return s.Service.TakeTask(c.ctx, v[0])
		}},
	{name: "task_show", description: "Show a task, its gate (what is unsatisfied and what would satisfy it) and the handoff its last session left. Read this before working.",
		props: map[string]any{"task": str("task key")}, required: []string{"task"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task")
			if err != nil {
				return nil, err
			}
			t, err := s.Service.GetTask(c.ctx, v[0])
			if err != nil {
				return nil, err
			}
			gate, err := s.Service.ExplainGate(c.ctx, v[0])
			if err != nil {
				return nil, err
			}
			sessions, err := s.Service.ListSessions(c.ctx, fairway.SessionFilter{Task: v[0]})
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
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "text", "kind", "lane")
			if err != nil {
				return nil, err
			}
			q := fairway.SearchQuery{Text: v[0], Kind: v[1], Lane: v[2]}
			if n, ok := a["limit"].(float64); ok {
				q.Limit = int(n)
			}
			return s.Service.Search(c.ctx, q)
		}},
	{name: "session_attach", description: "Attach a session to a task before working on it (after task_take, or on a task you were given). Every later call of this connection acts through the session, so a replaced or expired session can no longer write; heartbeat it before its lease runs out. Read the returned handoff first: it is what the previous session left you.",
		props:    map[string]any{"task": str("task key"), "provider": str("codex, claude, gemini or another name"), "replace": str("a live session to supersede explicitly")},
		required: []string{"task", "provider"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task", "provider", "replace")
			if err != nil {
				return nil, err
			}
			in := fairway.SessionAttach{Task: v[0], Provider: v[1], Replace: v[2]}
			if s.local() {
				// The work tree and the commit the work starts from, so
				// that detach can check the change against the task's
				// scope.
				if root, err := s.root(); err == nil {
					if base, err := scope.Head(root); err == nil {
						in.Dir, in.BaseCommit = root, base
					}
				}
			}
			out, err := s.Service.AttachSession(c.ctx, in)
			note := ""
			var fe *fairway.Error
			if in.Dir != "" && errors.As(err, &fe) && fe.Code == fairway.EINVALID && fe.Field == "dir" {
				// The folder's name was refused (the secret scan reads a
				// random-looking name as a secret): attach without it.
				note = "the work tree was not recorded (" + fe.Message + "); scope_check needs base then"
				in.Dir, in.BaseCommit = "", ""
				out, err = s.Service.AttachSession(c.ctx, in)
			}
			if err != nil {
				return nil, err
			}
			s.actThrough(c, out.Session)
			// The credential stays with the server; the agent needs none.
			res := map[string]any{"session": out.Session, "handoff": out.Handoff}
			if note != "" {
				res["note"] = note
			}
			return res, nil
		}},
	{name: "session_heartbeat", description: "Renew your session's lease. If the session was replaced or expired this fails: stop working and attach again.",
		props: map[string]any{"session": str("session id")}, required: []string{"session"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "session")
			if err != nil {
				return nil, err
			}
			return s.Service.HeartbeatSession(c.ctx, v[0])
		}},
	{name: "session_detach", description: "Hand off and end your session: the summary is what the next session reads first (what is done, what is next, what is risky). Never put a secret in it. When the session recorded its work tree and base commit, the change is checked against the task's scope first (see scope_check).",
		props: map[string]any{"session": str("session id"), "handoff": str("handoff summary")}, required: []string{"session", "handoff"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "session", "handoff")
			if err != nil {
				return nil, err
			}
			out := map[string]any{}
			if s.local() {
				// A work tree that cannot be read does not keep the
				// session attached; a fenced session fails below anyway.
				check, err := s.scopeAtDetach(c, v[0])
				switch code := fairway.ErrorCode(err); {
				case err == nil && check != nil:
					out["scope_check"] = check
				case code == fairway.EFORBIDDEN || code == fairway.EUNAUTHORIZED:
					return nil, err
				case err != nil:
					out["scope_check_error"] = fairway.ErrorMessage(err) + "; check again with scope_check, or ask a human to run `fairway scope check`"
				}
			}
			sess, err := s.Service.DetachSession(c.ctx, v[0], v[1])
			if err != nil {
				return nil, err
			}
			s.forget(c, v[0])
			out["session"] = sess
			return out, nil
		}},
	{name: "evidence_add", description: "Record evidence for a task from a file path or from text: logs, reports, scan output. Evidence is immutable; chat and transcripts are kind context and never count as proof.",
		props:    map[string]any{"task": str("task key"), "kind": str("evidence kind, e.g. log, test-report, scan-output, context"), "path": str("a file to record"), "text": str("text to record, when there is no file"), "note": str("a short note")},
		required: []string{"task", "kind"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task", "kind", "path", "text", "note")
			if err != nil {
				return nil, err
			}
			in := fairway.EvidenceAdd{Task: v[0], Kind: v[1], Note: v[4]}
			var body []byte
			switch {
			case v[2] != "" && v[3] != "":
				return nil, fairway.FieldError("path", "give a path or text, not both")
			case v[2] != "" && !s.local():
				return nil, fairway.FieldError("path", "this server runs remotely and cannot read your files: send the text, or record the file with `fairway evidence add --task %s --kind %s FILE`", v[0], v[1])
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
			return s.Service.AddEvidence(c.ctx, in, fairway.EvidenceParts{Content: bytes.NewReader(body)})
		}},
	{name: "run", localOnly: true, description: "Run a command in the project folder and record it as evidence (kind command-result unless you say another): argv, exit code, times, the source commit and dirty state, the environment and the whole output. This is how tests and checks become proof; a failing run is recorded too and shown as failing. A mutating task runs nothing until you have started it (task_take). Fairway's own commands are not work: use the tools.",
		props:    map[string]any{"task": str("task key"), "argv": strs("the command and its arguments, e.g. [\"go\", \"test\", \"./...\"]"), "kind": str("evidence kind (default command-result)"), "note": str("a line about what this run proves")},
		required: []string{"task", "argv"},
		call:     (*Server).run},
	{name: "scope_check", localOnly: true, description: "Check your change against the task's declared scope before you hand off (session_detach does it too): every path changed since the session's base commit, committed or not, and every untracked file, is mapped to the layer that owns it. Layers beyond the task's own add their review to the gate; paths outside the task's scope wait for a human owner to acknowledge them (you cannot). Answers the check and the gate's scope requirement with what to do next.",
		props:    map[string]any{"task": str("task key"), "base": str("the commit your work started from (default: your session's)")},
		required: []string{"task"},
		call:     (*Server).scopeCheck},
	{name: "scope_check", remoteOnly: true, description: "Check your change against the task's declared scope before you hand off. This server cannot see your work tree: send the paths your change touched (`git diff --name-only BASE` and `git ls-files --others --exclude-standard`), and they are recorded as your report. Each is mapped to the layer that owns it; layers beyond the task's own add their review to the gate; paths outside the task's scope wait for a human owner to acknowledge them (you cannot). Answers the check and the gate's scope requirement with what to do next.",
		props:    map[string]any{"task": str("task key"), "base": str("the commit your work started from"), "paths": strs("the repository paths your change touched")},
		required: []string{"task", "paths"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task", "base")
			if err != nil {
				return nil, err
			}
			paths, err := argStrings(a, "paths")
			if err != nil {
				return nil, err
			}
			return s.recordScope(c, fairway.ScopeCheck{Task: v[0], Session: fairway.AuthFromContext(c.ctx).Session, Base: v[1], Paths: paths,
				Note: "paths reported by the agent over MCP; Fairway did not diff the work tree"})
		}},
	{name: "claim", description: "Record what you say about your work (\"tests pass\", \"done\"). Reviewers see it; it is never evidence and never closes anything.",
		props: map[string]any{"task": str("task key"), "text": str("the claim")}, required: []string{"task", "text"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task", "text")
			if err != nil {
				return nil, err
			}
			return s.Service.AddClaim(c.ctx, fairway.ClaimAdd{Task: v[0], Text: v[1]})
		}},
	{name: "request_review", description: "Move a task in progress to in_review once its evidence is recorded. Independent humans review and close it; you cannot.",
		props: map[string]any{"task": str("task key"), "note": str("what to look at")}, required: []string{"task"},
		call: func(s *Server, c *call, a map[string]any) (any, error) {
			v, err := need(a, "task", "note")
			if err != nil {
				return nil, err
			}
			return s.Service.TransitionTask(c.ctx, v[0], fairway.Transition{Status: fairway.StatusInReview, Note: v[1]})
		}},
}

// describe is a tool's description as listed when the server starts;
// evidence_add's kinds are refreshed from the policy in force on every
// tools/list (withKinds).
func (s *Server) describe(t *tool) string {
	if t.name == "evidence_add" {
		return t.description + " Kinds: " + kindsText(s.policy(s.ctx))
	}
	return t.description
}

// withKinds rewrites evidence_add's description in a tools/list answer
// with the evidence kinds of the policy in force, and what success means
// for each.
func (s *Server) withKinds(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		res, err := next(ctx, method, req)
		list, ok := res.(*sdk.ListToolsResult)
		if err != nil || method != "tools/list" || !ok {
			return res, err
		}
		c, err := s.acting(ctx, nil, req.GetExtra())
		if err != nil {
			return res, nil
		}
		kinds := kindsText(s.policy(c.ctx))
		for i, t := range list.Tools {
			if t.Name == "evidence_add" {
				x := *t
				base, _, _ := strings.Cut(x.Description, " Kinds: ")
				x.Description = base + " Kinds: " + kinds
				list.Tools[i] = &x
			}
		}
		return list, nil
	}
}

// handler runs a tool: it checks the arguments against the tool's own
// (no undeclared argument passes), resolves who acts, and answers the
// result as JSON text, or the error with its code and what to do next.
func (s *Server) handler(t *tool) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		args := map[string]any{}
		if raw := req.Params.Arguments; len(raw) > 0 && string(raw) != "null" {
			// A client may show its user the first of two equal names
			// while decoding keeps the last: a call must mean one thing.
			if name := fairway.FieldNamedTwice(raw); name != "" {
				return errorResult(fairway.FieldError(name, "is named twice; send each argument once")), nil
			}
			if at := fairway.TextChangedByDecoding(raw); at >= 0 {
				return errorResult(fairway.FieldError("arguments", "are not valid UTF-8 text at byte %d (bytes that are not UTF-8, or half a surrogate pair); send text as UTF-8, since it would be stored changed (as U+FFFD)", at)), nil
			}
			if err := json.Unmarshal(raw, &args); err != nil {
				return errorResult(fairway.FieldError("arguments", "must be a JSON object: %v", err)), nil
			}
		}
		for name := range args {
			if _, ok := t.props[name]; !ok {
				known := slices.Sorted(maps.Keys(t.props))
				return errorResult(fairway.FieldError(name, "is not an argument of %s (its arguments: %s); approving, waiving, closing and cancelling are for humans, through no tool",
					t.name, strings.Join(known, ", "))), nil
			}
		}
		for _, name := range t.required {
			if v, ok := args[name]; !ok || v == nil || v == "" {
				return errorResult(fairway.FieldError(name, "is required by %s", t.name)), nil
			}
		}
		c, err := s.acting(ctx, req.Session, req.Extra)
		if err != nil {
			return errorResult(err), nil
		}
		out, err := t.call(s, c, args)
		if err != nil {
			return errorResult(err), nil
		}
		return textResult(out, false), nil
	}
}

func textResult(v any, isError bool) *sdk.CallToolResult {
	b, _ := json.MarshalIndent(v, "", "  ")
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}, IsError: isError}
}

// errorResult reports a failed call as the tool's result, so the agent
// reads it: the code, and the message, which says what to do next.
func errorResult(err error) *sdk.CallToolResult {
	return textResult(map[string]any{"error": map[string]any{"code": fairway.ErrorCode(err), "message": fairway.ErrorMessage(err)}}, true)
}

// policy loads the policy in force; nil when there is none or it cannot
// be read, and the defaults then apply.
func (s *Server) policy(ctx context.Context) *policy.Policy {
	if ctx == nil {
		ctx = context.Background()
	}
	rec, err := s.Service.ActivePolicy(ctx)
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
