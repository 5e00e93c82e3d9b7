package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"fairway"
	"fairway/check"
)

// coverageKind is the kind of evidence holding a check suite run's
// coverage matrix, as `fairway check run` records it.
const coverageKind = "coverage"

// sessionView is a session with its observations, newest first.
type sessionView struct {
	*fairway.Session
}

// sessionsOf lists a task's sessions (given oldest first) newest first,
// each with its observations.
func (p *Portal) sessionsOf(ctx context.Context, list []*fairway.Session) ([]sessionView, error) {
	out := make([]sessionView, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		s, err := p.svc.GetSession(ctx, list[i].ID)
		if err != nil {
			return nil, err
		}
		out = append(out, sessionView{Session: s})
	}
	return out, nil
}

// deploysData is the deploy-runs page: every run, newest first, its
// stages as a pipeline.
type deploysData struct {
	Runs   []*fairway.DeployRun
	Filter fairway.DeployFilter
	Envs   []string
}

func (p *Portal) deploysData(ctx context.Context, f fairway.DeployFilter) (*deploysData, error) {
	runs, err := p.svc.ListDeployRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	d := &deploysData{Runs: runs, Filter: f}
	if pol, err := p.activePolicy(ctx); err != nil {
		return nil, err
	} else if pol != nil {
		d.Envs = sortedKeys(pol.Environments)
	}
	return d, nil
}

// uatData is the UAT coverage matrix: coverage areas down, environments
// across; each cell proven by evidence or naming what blocks it.
type uatData struct {
	Envs  []string
	Rows  []uatRow
	Suite []string
}

type uatRow struct {
	Area  string
	Cells []uatCell
}

type uatCell struct {
	Env   string
	State string // proven, failing, not-covered
	// Evidence proves (or, failing, disproves) the cell; Task is its task.
	Evidence []string
	Task     string
	Run      int64
	// Blocker says why a cell is not proven.
	Blocker string
}

func (p *Portal) uatData(ctx context.Context) (*uatData, error) {
	evs, err := p.svc.ListEvidence(ctx, fairway.EvidenceFilter{Kind: coverageKind})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].RecordedAt.Before(evs[j].RecordedAt) })
	runs := map[int64]*fairway.DeployRun{}
	byEnv := map[string][]check.Matrix{}
	d := &uatData{}
	if pol, err := p.activePolicy(ctx); err != nil {
		return nil, err
	} else if pol != nil {
		d.Envs = sortedKeys(pol.Environments)
	}
	taskOf := map[string]string{}
	runOf := map[string]int64{}
	lastRun := map[string]*fairway.DeployRun{}
	for _, e := range evs {
		b, err := fairway.ReadEvidence(ctx, p.svc, e.ID, fairway.PartContent, 16<<20)
		if fairway.ErrorCode(err) == fairway.EINVALID {
			continue // too large to be a matrix
		} else if err != nil {
			return nil, err
		}
		var m check.Matrix
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
			continue // not a matrix: the task page shows it as it is
		}
		env := "no environment"
		if m.Deploy != 0 {
			r := runs[m.Deploy]
			if r == nil {
				if r, err = p.svc.GetDeployRun(ctx, m.Deploy); err != nil {
					return nil, err
				}
				runs[m.Deploy] = r
			}
			env = r.Environment
		}
		if !slices.Contains(d.Envs, env) {
			d.Envs = append(d.Envs, env)
		}
		if !slices.Contains(d.Suite, m.Suite) {
			d.Suite = append(d.Suite, m.Suite)
		}
		for _, it := range m.Items {
			for _, id := range append(slices.Clone(it.Proven), it.Failing...) {
				taskOf[id], runOf[id] = e.Task, m.Deploy
			}
		}
		byEnv[env] = append(byEnv[env], m)
		if m.Deploy != 0 {
			lastRun[env] = runs[m.Deploy]
		}
	}
	merged := map[string]map[string]check.Item{}
	var areas []string
	for env, ms := range byEnv {
		merged[env] = map[string]check.Item{}
		for _, it := range check.Merge(ms) {
			merged[env][it.Item] = it
			if !slices.Contains(areas, it.Item) {
				areas = append(areas, it.Item)
			}
		}
	}
	sort.Strings(areas)
	allRuns, err := p.svc.ListDeployRuns(ctx, fairway.DeployFilter{})
	if err != nil {
		return nil, err
	}
	for _, area := range areas {
		row := uatRow{Area: area}
		for _, env := range d.Envs {
			c := uatCell{Env: env, State: check.NotCovered}
			it, ok := merged[env][area]
			switch {
			case ok && it.State == check.Proven:
				c.State, c.Evidence = check.Proven, it.Proven
			case ok && it.State == check.Failing:
				c.State, c.Evidence = check.Failing, it.Failing
				c.Blocker = "its evidence fails"
				if r := lastRun[env]; r != nil {
					c.Blocker = failingStage(r)
				}
			case ok:
				c.Blocker = "suite " + it.Suite + " has no check that covers it"
				if r := lastRun[env]; r != nil {
					c.Blocker = "no check of suite " + it.Suite + " covered it in deploy-run " + itoa(r.ID)
				}
			default:
				c.Blocker = envBlocker(env, allRuns)
			}
			if len(c.Evidence) > 0 {
				c.Task, c.Run = taskOf[c.Evidence[0]], runOf[c.Evidence[0]]
			}
			row.Cells = append(row.Cells, c)
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// failingStage names a run's first failed stage and its note.
func failingStage(r *fairway.DeployRun) string {
	for _, st := range r.Stages {
		if st.Status == fairway.StageFailed {
			msg := st.Name + " failed in deploy-run " + itoa(r.ID)
			if st.Note != "" {
				msg += ": " + st.Note
			}
			return msg
		}
	}
	return "its evidence fails"
}

// envBlocker says why an environment has no coverage of an area: no run
// there, or the newest run's stage that has not passed.
func envBlocker(env string, runs []*fairway.DeployRun) string {
	var last *fairway.DeployRun
	for _, r := range runs {
		if r.Environment == env && (last == nil || r.ID > last.ID) {
			last = r
		}
	}
	if last == nil {
		return "no deploy-run to " + env + " yet"
	}
	for _, name := range fairway.MainStages {
		s := last.Stage(name)
		if s == nil || s.Status == fairway.StagePassed {
			continue
		}
		return "deploy-run " + itoa(last.ID) + " (" + last.Task + "): " + name + " " + s.Status
	}
	return "deploy-run " + itoa(last.ID) + " recorded no coverage of it"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// taskFilter is the lanes board's filter: every field optional.
type taskFilter struct {
	Lane, Status, Owner, Surface, Risk string
}

func (f taskFilter) Active() bool { return f != taskFilter{} }

func (f taskFilter) keep(t *fairway.Task) bool {
	return (f.Lane == "" || t.Lane == f.Lane) && (f.Status == "" || t.Status == f.Status) &&
		(f.Owner == "" || t.Owner == f.Owner) && (f.Risk == "" || t.Risk == f.Risk) &&
		(f.Surface == "" || slices.Contains(t.Scope.Surfaces, f.Surface))
}

// filterFrom reads the board's filter from the query; a value that names
// no status or risk is refused, not silently ignored.
func filterFrom(q url.Values) (taskFilter, error) {
	f := taskFilter{Lane: q.Get("lane"), Status: q.Get("status"), Owner: q.Get("owner"), Surface: q.Get("surface"), Risk: q.Get("risk")}
	if f.Status != "" && !slices.Contains(fairway.Statuses, f.Status) {
		return f, fairway.FieldError("status", "%q is not a status: use one of %s", f.Status, strings.Join(fairway.Statuses, ", "))
	}
	if f.Risk != "" && !slices.Contains(fairway.Risks, f.Risk) {
		return f, fairway.FieldError("risk", "%q is not a risk: use one of %s", f.Risk, strings.Join(fairway.Risks, ", "))
	}
	return f, nil
}
