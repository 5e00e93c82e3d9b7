package check

import "slices"

// Cell is one coverage area in one environment: its latest result, the
// evidence behind it, or what stops it.
type Cell struct {
	State string `json:"state"`
	// Evidence is the passing evidence of a proven cell, the failing
	// evidence of a failing one.
	Evidence []string `json:"evidence,omitempty"`
	Task     string   `json:"task,omitempty"`
	Suite    string   `json:"suite,omitempty"`
	// Matrix is the coverage evidence the result came from.
	Matrix string `json:"matrix,omitempty"`
	// Blockers name what stops the area's mutating checks here.
	Blockers []string `json:"blockers,omitempty"`
}

// AreaRow is one coverage area across environments.
type AreaRow struct {
	Area  string           `json:"area"`
	Cells map[string]*Cell `json:"cells"`
}

// UATMatrix is coverage area × environment, across tasks.
type UATMatrix struct {
	Environments []string  `json:"environments"`
	Areas        []AreaRow `json:"areas"`
}

// Recorded is a coverage matrix with the evidence that holds it.
type Recorded struct {
	Matrix
	Evidence string
}

// Across builds the UAT matrix from recorded coverage, oldest first: per
// area and environment the newest result decides, as in Merge (a newer
// run that did not cover the area, or was blocked, keeps an older
// proof or failure). A blocked area shows the environment's blockers
// now (or becomes not covered once they are lifted); an area never run
// shows the blockers a mutating check would meet there.
func Across(recorded []Recorded, envs []string, blockers map[string][]string) *UATMatrix {
	out := &UATMatrix{Environments: slices.Clone(envs), Areas: []AreaRow{}}
	rows := map[string]*AreaRow{}
	var order []string
	for _, r := range recorded {
		env := r.Environment
		if env == "" {
			env = "unspecified"
		}
		if !slices.Contains(out.Environments, env) {
			out.Environments = append(out.Environments, env)
		}
		for _, it := range r.Items {
			row := rows[it.Item]
			if row == nil {
				row = &AreaRow{Area: it.Item, Cells: map[string]*Cell{}}
				rows[it.Item] = row
				order = append(order, it.Item)
			}
			c := &Cell{State: it.State, Task: r.Task, Suite: r.Suite, Matrix: r.Evidence, Blockers: it.Blockers}
			switch it.State {
			case Proven:
				c.Evidence = it.Proven
			case Failing:
				c.Evidence = it.Failing
			}
			weak := func(state string) bool { return state == NotCovered || state == Blocked }
			if prev := row.Cells[env]; prev == nil || !weak(c.State) || weak(prev.State) {
				row.Cells[env] = c
			}
		}
	}
	for _, area := range order {
		row := rows[area]
		for _, env := range out.Environments {
			c := row.Cells[env]
			if c == nil {
				c = &Cell{State: NotCovered}
				row.Cells[env] = c
			}
			now := blockers[env]
			switch {
			case c.State == Blocked && len(now) > 0:
				c.Blockers = now
			case c.State == Blocked:
				// What stopped it then is lifted: it is simply not run yet.
				c.State, c.Blockers = NotCovered, nil
			case c.State == NotCovered:
				// Nothing ran here; a mutating check would meet these.
				c.Blockers = now
			}
		}
		out.Areas = append(out.Areas, *row)
	}
	return out
}
