// Package prime builds what an agent needs at the start of a session, or
// after its context was compacted: who it is, its live session and the
// handoff waiting for it, its work, the rules it cannot break, what its
// gates ask for, and the loop in five steps. The CLI (`fairway prime`)
// and the MCP server (the `prime` tool and resource) show the same brief.
package prime

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"fairway"
	"fairway/policy"
)

// Brief is the session-start context of one actor.
type Brief struct {
	Actor     string `json:"actor"`
	ActorKind string `json:"actor_kind"`
	// Sessions are the actor's live sessions.
	Sessions []*fairway.Session `json:"sessions"`
	// Handoffs are the newest handoffs left on the tasks the actor owns or
	// holds a session on: read them first.
	Handoffs []Handoff `json:"handoffs"`
	// Mine is the unfinished work the actor owns, started work first.
	Mine []*fairway.Task `json:"mine"`
	// Ready are the keys of Mine that are open with every dependency
	// done: what to take next.
	Ready []string `json:"ready"`
	// Safe is safe fallback work nobody owns, ready now.
	Safe []*fairway.Task `json:"safe"`
	// Rules are what the actor cannot do, whatever it is asked.
	Rules []string `json:"rules"`
	// Evidence is every evidence kind the policy knows, the kinds the
	// actor's gates ask for first (with the tasks that ask).
	Evidence []KindNeed `json:"evidence"`
	// Loop is the work loop in five steps.
	Loop         []string `json:"loop"`
	PolicyDigest string   `json:"policy_digest,omitempty"`
}

// Handoff is a handoff waiting on a task.
type Handoff struct {
	Task    string    `json:"task"`
	Session string    `json:"session"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
	Summary string    `json:"summary"`
}

// KindNeed is an evidence kind, what success means for it, and which of
// the actor's tasks' gates ask for it.
type KindNeed struct {
	policy.KindHelp
	AskedBy []string `json:"asked_by,omitempty"`
}

// Surface is where the brief's commands are run.
type Surface int

const (
	// CLI names `fairway` commands.
	CLI Surface = iota
	// MCP names the MCP server's tools.
	MCP
)

// Rules are what an agent never does, whatever its instructions say.
var Rules = []string{
	"You never approve a review, approve a waiver, close or cancel a task: only an independent human does (R1). Push work as far as in_review.",
	"What you say about your work is a claim, never evidence; transcripts and chat are context evidence and never satisfy a requirement (R11).",
	"Evidence counts only when it shows success (exit code 0, tests passed, scan clean); failing evidence is shown, never counted (R3).",
	"Never put a secret in any field or evidence: it is refused or redacted (R7).",
	"Work only on a task you own or took; when its lane waits, take safe fallback work, never a protected or mutating change (R5).",
}

// limit bounds each list, so the brief fits a context window.
const limit = 10

// Build reads the brief of the acting actor from svc.
func Build(ctx context.Context, svc fairway.Service, surface Surface) (*Brief, error) {
	me, err := svc.Whoami(ctx)
	if err != nil {
		return nil, err
	}
	b := &Brief{Actor: me.Name, ActorKind: me.Kind, Sessions: []*fairway.Session{}, Handoffs: []Handoff{}, Rules: Rules, Loop: loop(surface)}
	live, err := svc.ListSessions(ctx, fairway.SessionFilter{Actor: me.Name, Live: true})
	if err != nil {
		return nil, err
	}
	b.Sessions = live
	owned, err := svc.ListTasks(ctx, fairway.TaskFilter{Owner: me.Name})
	if err != nil {
		return nil, err
	}
	order := map[string]int{fairway.StatusInProgress: 0, fairway.StatusOpen: 1, fairway.StatusBlocked: 2, fairway.StatusInReview: 3}
	b.Mine = []*fairway.Task{}
	for _, t := range owned {
		if !fairway.IsTerminal(t.Status) {
			b.Mine = append(b.Mine, t)
		}
	}
	slices.SortStableFunc(b.Mine, func(x, y *fairway.Task) int { return order[x.Status] - order[y.Status] })
	if len(b.Mine) > limit {
		b.Mine = b.Mine[:limit]
	}
	ready, err := svc.Next(ctx, fairway.NextFilter{Owner: me.Name, Limit: limit})
	if err != nil {
		return nil, err
	}
	b.Ready = []string{}
	for _, t := range ready {
		b.Ready = append(b.Ready, t.Key)
	}
	// Safe fallback needs a policy; without one there is none to offer.
	b.Safe = []*fairway.Task{}
	var p *policy.Policy
	if rec, err := svc.ActivePolicy(ctx); err == nil {
		b.PolicyDigest = rec.Digest
		if p, err = policy.Load(rec.File, []byte(rec.Source)); err != nil {
			return nil, err
		}
		safe, err := svc.Next(ctx, fairway.NextFilter{SafeOnly: true, Limit: limit * 2})
		if err != nil {
			return nil, err
		}
		for _, t := range safe {
			if t.Owner == "" && len(b.Safe) < limit {
				b.Safe = append(b.Safe, t)
			}
		}
	} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
		return nil, err
	}
	// Handoffs and gates of the work the actor holds.
	holds := []string{}
	for _, t := range b.Mine {
		holds = append(holds, t.Key)
	}
	for _, s := range live {
		if !slices.Contains(holds, s.Task) {
			holds = append(holds, s.Task)
		}
	}
	asked := map[string][]string{}
	for _, key := range holds {
		sessions, err := svc.ListSessions(ctx, fairway.SessionFilter{Task: key})
		if err != nil {
			return nil, err
		}
		if h := latestHandoff(key, sessions); h != nil {
			b.Handoffs = append(b.Handoffs, *h)
		}
		gate, err := svc.ExplainGate(ctx, key)
		if err != nil {
			return nil, err
		}
		for _, r := range gate.Requirements {
			if r.Kind == policy.NeedEvidence && r.State != fairway.ReqNotApplicable {
				asked[r.Name] = append(asked[r.Name], key)
			}
		}
	}
	var first []string
	for k := range asked {
		first = append(first, k)
	}
	for _, h := range p.KindsHelp(first...) {
		b.Evidence = append(b.Evidence, KindNeed{KindHelp: h, AskedBy: asked[h.Kind]})
	}
	return b, nil
}

func latestHandoff(task string, sessions []*fairway.Session) *Handoff {
	var h *fairway.Session
	for _, s := range sessions {
		if s.Handoff != "" && (h == nil || !s.EndedAt.Before(h.EndedAt)) {
			h = s
		}
	}
	if h == nil {
		return nil
	}
	return &Handoff{Task: task, Session: h.ID, Actor: h.Actor, At: h.EndedAt, Summary: h.Handoff}
}

// loop is the work loop in five steps, in the surface's own commands.
func loop(s Surface) []string {
	if s == MCP {
		return []string{
			"next (owner: you, or safe_only) to find work; task_take TASK (or session_attach) to start it",
			"task_show TASK: the gate says what is unsatisfied and what would satisfy it; read the handoff",
			"do the work, then run TASK ARGV (tests, checks) or evidence_add TASK KIND (path or text) for each kind the gate asks for; scope_check TASK shows what your change touched",
			"claim TASK TEXT to say what you did (never evidence)",
			"request_review TASK: a human reviews and closes it; session_detach with a handoff if you attached",
		}
	}
	return []string{
		"fairway next --mine (or --safe) to find work; fairway task take KEY to start it",
		"fairway gate explain KEY: what is unsatisfied and what would satisfy it",
		"fairway run --task KEY [--kind KIND] -- CMD, or fairway evidence add KEY --kind KIND FILE",
		"fairway claim KEY TEXT to say what you did (never evidence)",
		"fairway task move KEY in_review --note TEXT: a human reviews and closes it",
	}
}

// Write prints the brief for a reader: short, most urgent first.
func Write(w io.Writer, b *Brief) {
	fmt.Fprintf(w, "You are %s (%s).\n", b.Actor, b.ActorKind)
	if len(b.Sessions) == 0 {
		fmt.Fprintln(w, "Live session: none.")
	}
	for _, s := range b.Sessions {
		fmt.Fprintf(w, "Live session: %s on %s (%s, generation %d, lease until %s).\n", s.ID, s.Task, oneLine(s.Provider, 40), s.Generation, s.LeaseUntil.Format(time.RFC3339))
	}
	for _, h := range b.Handoffs {
		fmt.Fprintf(w, "\nHandoff waiting on %s from %s (%s, %s):\n  %s\n", h.Task, h.Session, h.Actor, h.At.Format(time.RFC3339), oneLine(h.Summary, 600))
	}
	fmt.Fprintln(w, "\nYour work (a ready one can be taken now):")
	if len(b.Mine) == 0 {
		fmt.Fprintln(w, "  none owned by you")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range b.Mine {
		status := t.Status
		if slices.Contains(b.Ready, t.Key) {
			status += " (ready)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Key, status, oneLine(t.Title, 90))
	}
	tw.Flush()
	if len(b.Safe) > 0 {
		fmt.Fprintln(w, "Safe fallback work nobody owns, ready now:")
		for _, t := range b.Safe {
			fmt.Fprintf(tw, "  %s\t%s\n", t.Key, oneLine(t.Title, 90))
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nRules you cannot break:")
	for _, r := range b.Rules {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	fmt.Fprintln(w, "\nEvidence kinds (what counts as success):")
	for _, k := range b.Evidence {
		if len(k.AskedBy) == 0 && k.Proof && !slices.Contains([]string{fairway.EvidenceCommandResult, fairway.EvidenceLog}, k.Kind) {
			continue // the brief stays short
		}
		asked := ""
		if len(k.AskedBy) > 0 {
			asked = "; asked by " + strings.Join(k.AskedBy, ", ")
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", k.Kind, k.Success, asked)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nThe loop:")
	for i, s := range b.Loop {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
}

// oneLine folds text chosen by others to one line without control
// characters, so it cannot move a terminal's cursor or fake a line.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
