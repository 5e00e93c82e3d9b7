package portal

import (
	"context"
	"io"
	"slices"
	"sort"
	"strings"

	"fairway"
	"fairway/policy"
)

// overviewData is the seed's governance page, from live state.
type overviewData struct {
	Policy    *fairway.PolicyRecord
	Layers    []layerRow
	Surfaces  []surfaceRow
	Protected []protectedRow
	Closeout  []closeoutRow
	SafeWork  []*fairway.Task
	Waiting   []*fairway.LaneState
	Fallback  string
	Counts    map[string]int
	Total     int
	// CloseoutAt is the audit event the closeout dependencies were
	// computed at; CloseoutStale is set while newer ones are computed.
	CloseoutAt    int64
	CloseoutStale bool
}

type layerRow struct {
	Name, Description, ReviewDomain string
	Owns, Contracts, Lanes          []string
}

type surfaceRow struct {
	Name, Description       string
	ReviewDomains, Evidence []string
	MFA                     bool
}

type protectedRow struct {
	Name, Description string
	Approvals         []string
}

// closeoutRow is one prerequisite and the open tasks whose gates it holds.
type closeoutRow struct {
	ID, Description string
	// Open counts the gated tasks on which it is still unsatisfied.
	Open  int
	Tasks []gatedTask
}

type gatedTask struct {
	Key, Title, State, Detail, Remedy string
}

// agenticControls are the nouns with which Fairway keeps agents' work
// governed: the seed's agentic engineering boundary.
var agenticControls = [][2]string{
	{"Fairway task", "Scope, owner, status, dependencies, risk, review domains"},
	{"Provider session", "Codex, Claude, Gemini, tmux, shell or browser work attached to a task: a lease with heartbeat and fencing generation, observations, handoff; replaceable at any moment"},
	{"Evidence artifact", "Command and result, source commit, environment, logs, screenshots, UAT or scan output; immutable, addressed by sha256"},
	{"Review record", "Independent domain approval or concrete requested changes, bound to the snapshot it judged"},
	{"Claim", "What an agent says about its work: shown to reviewers, never counted as evidence"},
	{"Waiver", "Lifts one requirement until it expires; approved by an independent human of its domain"},
	{"Deploy-run", "Environment, source commit, artifacts; stages ci → deploy → smoke → UAT → rollback → follow-up, each with its evidence"},
}

func (p *Portal) overviewData(ctx context.Context, fresh bool) (*overviewData, error) {
	d := &overviewData{Counts: map[string]int{}}
	pol, err := p.activePolicy(ctx)
	if err != nil {
		return nil, err
	}
	if pol != nil {
		d.Policy = &fairway.PolicyRecord{File: pol.File, Digest: pol.Digest}
		for _, name := range sortedKeys(pol.Layers) {
			l := pol.Layers[name]
			d.Layers = append(d.Layers, layerRow{Name: name, Description: l.Description, ReviewDomain: l.ReviewDomain, Owns: l.Owns, Contracts: l.Contracts, Lanes: l.Lanes})
		}
		for _, name := range sortedKeys(pol.Surfaces) {
			s := pol.Surfaces[name]
			d.Surfaces = append(d.Surfaces, surfaceRow{Name: name, Description: s.Description, ReviewDomains: s.ReviewDomains, Evidence: s.Evidence, MFA: s.RequireMFA})
		}
		for _, name := range sortedKeys(pol.ProtectedClasses) {
			c := pol.ProtectedClasses[name]
			d.Protected = append(d.Protected, protectedRow{Name: name, Description: c.Description, Approvals: c.Approvals})
		}
		d.Fallback = pol.Fallback.Description
		if d.SafeWork, err = p.svc.Next(ctx, fairway.NextFilter{SafeOnly: true}); err != nil {
			return nil, err
		}
	}
	lanes, err := p.svc.ListLanes(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range lanes {
		if l.State == fairway.LaneWaiting {
			d.Waiting = append(d.Waiting, l)
		}
		for s, n := range l.Counts {
			d.Counts[s] += n
			d.Total += n
		}
	}
	if pol == nil {
		return d, nil
	}
	if fresh {
		head, err := p.svc.AuditTree(ctx)
		if err != nil {
			return nil, err
		}
		d.CloseoutAt = head.Size
		d.Closeout, err = p.closeout(ctx, pol)
		return d, err
	}
	c, err := p.cachedCloseout(ctx, pol)
	if err != nil {
		return nil, err
	}
	d.Closeout, d.CloseoutAt, d.CloseoutStale = c.rows, c.seq, c.stale
	return d, nil
}

// closeout gathers the prerequisites that open gates require, each with
// the tasks it holds: the seed's "current closeout dependencies".
// Only a task the policy gives a prerequisite has its gate explained: the
// policy's conditions are cheap, a gate explanation reads the task's
// records.
func (p *Portal) closeout(ctx context.Context, pol *policy.Policy) ([]closeoutRow, error) {
	if len(pol.Prerequisites) == 0 {
		return nil, nil
	}
	tasks, err := p.svc.ListTasks(ctx, fairway.TaskFilter{})
	if err != nil {
		return nil, err
	}
	rows := map[string]*closeoutRow{}
	for _, t := range tasks {
		if fairway.IsTerminal(t.Status) {
			continue
		}
		needs, err := pol.Needs(t, false)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(needs, func(n *policy.Need) bool { return n.Kind == policy.NeedPrerequisite }) {
			continue
		}
		g, err := p.svc.ExplainGate(ctx, t.Key)
		if err != nil {
			return nil, err
		}
		for _, rq := range g.Requirements {
			if rq.Kind != policy.NeedPrerequisite {
				continue
			}
			row := rows[rq.ID]
			if row == nil {
				row = &closeoutRow{ID: rq.ID, Description: rq.Because}
				rows[rq.ID] = row
			}
			if rq.State == fairway.ReqUnsatisfied {
				row.Open++
			}
			row.Tasks = append(row.Tasks, gatedTask{Key: t.Key, Title: t.Title, State: rq.State, Detail: rq.Detail, Remedy: rq.Remedy})
		}
	}
	out := make([]closeoutRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Open > 0) != (out[j].Open > 0) {
			return out[i].Open > 0
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (p *Portal) activePolicy(ctx context.Context) (*policy.Policy, error) {
	rec, err := p.svc.ActivePolicy(ctx)
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	p.policyMu.Lock()
	defer p.policyMu.Unlock()
	if p.policy != nil && p.policy.Digest == rec.Digest {
		return p.policy, nil
	}
	// Loading compiles every condition: done once per policy, not per page.
	pol, err := policy.Load(rec.File, []byte(rec.Source))
	if err != nil {
		return nil, err
	}
	p.policy = pol
	return pol, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lanesData is the board: one row per lane, a column per status.
type lanesData struct {
	Statuses []string
	Lanes    []laneRow
	Filter   taskFilter
	// Choices are the values each filter offers.
	LaneNames, Owners, Surfaces, Risks []string
	Shown, Total                       int
}

type laneRow struct {
	*fairway.LaneState
	Columns [][]*fairway.Task
}

func (p *Portal) lanesData(ctx context.Context, f taskFilter) (*lanesData, error) {
	lanes, err := p.svc.ListLanes(ctx)
	if err != nil {
		return nil, err
	}
	tasks, err := p.svc.ListTasks(ctx, fairway.TaskFilter{})
	if err != nil {
		return nil, err
	}
	byLane := map[string]map[string][]*fairway.Task{}
	d := &lanesData{Statuses: fairway.Statuses, Filter: f, Risks: fairway.Risks, Total: len(tasks)}
	owners, surfaces := map[string]bool{}, map[string]bool{}
	for _, t := range tasks {
		if t.Owner != "" {
			owners[t.Owner] = true
		}
		for _, s := range t.Scope.Surfaces {
			surfaces[s] = true
		}
		if !f.keep(t) {
			continue
		}
		d.Shown++
		if byLane[t.Lane] == nil {
			byLane[t.Lane] = map[string][]*fairway.Task{}
		}
		byLane[t.Lane][t.Status] = append(byLane[t.Lane][t.Status], t)
	}
	d.Owners, d.Surfaces = sortedKeys(owners), sortedKeys(surfaces)
	for _, l := range lanes {
		d.LaneNames = append(d.LaneNames, l.Name)
	}
	if len(byLane[""]) > 0 {
		lanes = append(lanes, &fairway.LaneState{Lane: fairway.Lane{Name: "", Description: "Tasks in no lane"}, State: fairway.LaneMoving})
	}
	for _, l := range lanes {
		if f.Lane != "" && l.Name != f.Lane {
			continue
		}
		if f.Active() && len(byLane[l.Name]) == 0 {
			continue
		}
		row := laneRow{LaneState: l}
		for _, s := range fairway.Statuses {
			row.Columns = append(row.Columns, byLane[l.Name][s])
		}
		d.Lanes = append(d.Lanes, row)
	}
	return d, nil
}

// taskData is everything the task page shows.
type taskData struct {
	Task       *fairway.Task
	Gate       *fairway.GateDecision
	Deps       *fairway.TaskDependencies
	Evidence   []evidenceView
	Claims     []*fairway.Claim
	Reviews    []reviewView
	Domains    []domainView
	Waivers    []*fairway.Waiver
	Narrowings []*fairway.Narrowing
	Timeline   []*fairway.AuditEvent
	Sessions   []sessionView
	Runs       []*fairway.DeployRun
	// CanReview is set when the reader is a human: the forms are shown,
	// and the ledger still judges every post.
	CanReview bool
	Flash     string
	Error     string
	// Waived maps a waiver ID to whether it is pending approval.
	Pending map[int64]bool
}

type evidenceView struct {
	*fairway.Evidence
	Parts []partView
	Proof bool
}

// partView is one part of a record's bytes: shown inline when it is text
// or an image, always downloadable with its digest.
type partView struct {
	Name, Digest, Href string
	Size               int64
	Text               string
	Truncated          bool
	Image              bool
	// Problem says why the bytes cannot be shown, in place of Text.
	Problem string
}

type reviewView struct {
	*fairway.Review
	// Stale: an approval of a snapshot other than the current one (R4).
	Stale bool
	// Open: a change request not yet resolved.
	Open bool
}

// domainView is one review requirement of the gate, with its forms.
type domainView struct {
	Domain, State, Detail string
	OpenRequests          []int64
}

// inlineLimit bounds the bytes of one part shown in the page; the whole
// is a download away.
const inlineLimit = 32 << 10

func (p *Portal) taskData(ctx context.Context, key string, reader *fairway.Actor, static bool) (*taskData, error) {
	// One read of the ledger for the task and its records, as the API's
	// task view: a page is one snapshot, and a static build of many
	// tasks makes one transaction per task instead of one per record kind.
	tv, err := p.svc.TaskView(ctx, key)
	if err != nil {
		return nil, err
	}
	t := tv.Task
	d := &taskData{Task: t, Pending: map[int64]bool{}, Gate: tv.Gate, Deps: &fairway.TaskDependencies{Key: t.Key, BlockedBy: tv.BlockedBy, Blocks: tv.Blocks},
		Claims: tv.Claims, Waivers: tv.Waivers, Narrowings: tv.Narrowings}
	for _, e := range tv.Evidence {
		ev, err := p.evidenceView(ctx, e)
		if err != nil {
			return nil, err
		}
		d.Evidence = append(d.Evidence, ev)
	}
	reviews := tv.Reviews
	resolved := map[int64]bool{}
	for _, r := range reviews {
		if r.Verdict == fairway.VerdictResolved {
			resolved[r.Resolves] = true
		}
	}
	openByDomain := map[string][]int64{}
	for _, r := range reviews {
		rv := reviewView{Review: r}
		switch r.Verdict {
		case fairway.VerdictApproved:
			rv.Stale = r.Snapshot != d.Gate.SnapshotDigest
		case fairway.VerdictChangesRequested:
			rv.Open = !resolved[r.ID]
			if rv.Open {
				openByDomain[r.Domain] = append(openByDomain[r.Domain], r.ID)
			}
		}
		d.Reviews = append(d.Reviews, rv)
	}
	for _, rq := range d.Gate.Requirements {
		if rq.Kind == policy.NeedReview {
			d.Domains = append(d.Domains, domainView{Domain: rq.Name, State: rq.State, Detail: rq.Detail, OpenRequests: openByDomain[rq.Name]})
		}
	}
	for _, w := range d.Waivers {
		d.Pending[w.ID] = w.ApprovedBy == ""
	}
	if d.Timeline, err = p.svc.AuditLog(ctx, fairway.AuditFilter{Subject: key, Limit: 500}); err != nil {
		return nil, err
	}
	if d.Sessions, err = p.sessionsOf(ctx, tv.Sessions); err != nil {
		return nil, err
	}
	if d.Runs, err = p.svc.ListDeployRuns(ctx, fairway.DeployFilter{Task: key}); err != nil {
		return nil, err
	}
	d.CanReview = !static && reader.IsHuman() && !fairway.IsTerminal(t.Status)
	return d, nil
}

// evidenceView reads the start of each text part to show it in the page.
func (p *Portal) evidenceView(ctx context.Context, e *fairway.Evidence) (evidenceView, error) {
	v := evidenceView{Evidence: e, Proof: fairway.CountsAsProof(e)}
	add := func(part, digest, media string, size int64) error {
		pv := partView{Name: part, Digest: digest, Size: size, Href: "/evidence/" + e.ID + "/" + part}
		switch {
		case inlineImage(media):
			pv.Image = true
		case isText(media) && size > 0:
			rc, err := p.svc.OpenEvidence(ctx, e.ID, part)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(io.LimitReader(rc, inlineLimit+1))
			rc.Close()
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			} else if err != nil {
				// Bytes that are not the record's (changed in the blob
				// store) are named on the page, not shown, and the rest
				// of the page still shows.
				pv.Problem = fairway.ErrorMessage(err)
				break
			}
			pv.Truncated = len(b) > inlineLimit
			if pv.Truncated {
				b = b[:inlineLimit]
			}
			pv.Text = visible(string(b))
		}
		v.Parts = append(v.Parts, pv)
		return nil
	}
	if e.Command != nil {
		if e.Command.StdoutDigest != "" {
			if err := add(fairway.PartStdout, e.Command.StdoutDigest, "text/plain", e.Command.StdoutSize); err != nil {
				return v, err
			}
		}
		if e.Command.StderrDigest != "" {
			if err := add(fairway.PartStderr, e.Command.StderrDigest, "text/plain", e.Command.StderrSize); err != nil {
				return v, err
			}
		}
	}
	if e.Digest != "" && (e.Command == nil || e.Size > 0) {
		if err := add(fairway.PartContent, e.Digest, e.MediaType, e.Size); err != nil {
			return v, err
		}
	}
	return v, nil
}

// inlineImage lists the raster formats shown in the page. SVG is not one:
// it can carry script, so it is only downloaded.
func inlineImage(media string) bool {
	switch mediaBase(media) {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

func isText(media string) bool {
	m := mediaBase(media)
	return strings.HasPrefix(m, "text/") || m == "application/json" || m == "application/xml" || m == "application/x-ndjson" || m == ""
}

func mediaBase(media string) string {
	m, _, _ := strings.Cut(media, ";")
	return strings.ToLower(strings.TrimSpace(m))
}

// auditData is a window of the log and the chain's verification.
type auditData struct {
	Verify *fairway.AuditVerification
	Events []*fairway.AuditEvent
	// Checkpoints are the newest signed checkpoints of the audit tree.
	Checkpoints []*fairway.Checkpoint
	Tree        *fairway.TreeHead
	// Earlier is the sequence to page back from; 0 when at the start.
	Earlier int64
	From    int64
}

// auditPage is how many events one audit page shows.
const auditPage = 100

func (p *Portal) auditData(ctx context.Context, before int64) (*auditData, error) {
	v, err := p.svc.VerifyAudit(ctx)
	if err != nil {
		return nil, err
	}
	end := v.Head.Seq
	if before > 0 && before-1 < end {
		end = before - 1
	}
	after := max(end-auditPage, 0)
	var evs []*fairway.AuditEvent
	if end > after {
		if evs, err = p.svc.AuditLog(ctx, fairway.AuditFilter{AfterSeq: after, Limit: int(end - after)}); err != nil {
			return nil, err
		}
	}
	// Newest first: what just happened is what a reader looks for.
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	d := &auditData{Verify: v, Events: evs, From: after + 1}
	if d.Checkpoints, err = p.svc.Checkpoints(ctx, fairway.CheckpointFilter{Limit: 5}); err != nil {
		return nil, err
	}
	if d.Tree, err = p.svc.AuditTree(ctx); err != nil {
		return nil, err
	}
	if after > 0 {
		d.Earlier = after + 1
	}
	return d, nil
}
