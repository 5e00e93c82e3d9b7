package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"fairway"
)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinOrDash(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ", ")
}

func statusText(t *fairway.Task) string {
	if t.Status == fairway.StatusBlocked {
		return "blocked (waiting on " + t.WaitReason + ")"
	}
	return t.Status
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printTask(w io.Writer, t *fairway.Task, extra ...[2]string) {
	fmt.Fprintf(w, "%s  %s\n", t.Key, oneLine(t.Title))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  status:\t%s\n", statusText(t))
	if t.Status == fairway.StatusCancelled {
		fmt.Fprintf(tw, "  cancelled because:\t%s\n", oneLine(t.CancelReason))
	}
	fmt.Fprintf(tw, "  lane:\t%s\n", orDash(t.Lane))
	fmt.Fprintf(tw, "  owner:\t%s\n", orDash(t.Owner))
	fmt.Fprintf(tw, "  creator:\t%s\n", t.Creator)
	fmt.Fprintf(tw, "  risk:\t%s\n", t.Risk)
	fmt.Fprintf(tw, "  priority:\tP%d\n", t.Priority)
	fmt.Fprintf(tw, "  mutating:\t%s\n", yesNo(t.Mutating))
	fmt.Fprintf(tw, "  review domains:\t%s\n", joinOrDash(t.ReviewDomains))
	fmt.Fprintf(tw, "  labels:\t%s\n", joinOrDash(t.Labels))
	if t.Scope.Text != "" {
		fmt.Fprintf(tw, "  scope:\t%s\n", oneLine(t.Scope.Text))
	}
	for _, l := range []struct {
		name string
		vals []string
	}{{"surfaces", t.Scope.Surfaces}, {"change classes", t.Scope.ChangeClasses}, {"contracts", t.Scope.Contracts}, {"paths", t.Scope.Paths}} {
		if len(l.vals) > 0 {
			fmt.Fprintf(tw, "  %s:\t%s\n", l.name, strings.Join(l.vals, ", "))
		}
	}
	fmt.Fprintf(tw, "  created:\t%s\n", fmtTime(t.CreatedAt))
	fmt.Fprintf(tw, "  updated:\t%s\n", fmtTime(t.UpdatedAt))
	if !t.ClosedAt.IsZero() {
		fmt.Fprintf(tw, "  closed:\t%s\n", fmtTime(t.ClosedAt))
	}
	for _, row := range extra {
		fmt.Fprintf(tw, "  %s:\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

func printTaskTable(w io.Writer, tasks []*fairway.Task, empty string) {
	if len(tasks) == 0 {
		fmt.Fprintln(w, empty)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTATUS\tPRI\tRISK\tLANE\tOWNER\tTITLE")
	for _, t := range tasks {
		status := t.Status
		if t.Status == fairway.StatusBlocked {
			status += ":" + t.WaitReason
		}
		fmt.Fprintf(tw, "%s\t%s\tP%d\t%s\t%s\t%s\t%s\n", t.Key, status, t.Priority, t.Risk, orDash(t.Lane), orDash(t.Owner), oneLine(t.Title))
	}
	tw.Flush()
}

// nothingRequired reports whether no requirement of a decision applies.
func nothingRequired(d *fairway.GateDecision) bool {
	for _, r := range d.Requirements {
		if r.State != fairway.ReqNotApplicable {
			return false
		}
	}
	return true
}

func printDecision(w io.Writer, d *fairway.GateDecision) {
	verdict := "PASS"
	if !d.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "Gate for %s: %s\n", d.Task, verdict)
	if d.Pass && nothingRequired(d) {
		// A pass over nothing must never read as a check that was made.
		fmt.Fprintf(w, "  No requirement applies to %s: nothing was checked, and its evidence is not judged.\n"+
			"  A human can add review domains or evidence to its scope (`fairway task update %s --domain DOMAIN`).\n", d.Task, d.Task)
	}
	for _, r := range d.Requirements {
		name := r.ID
		if r.Protected {
			name += " [protected]"
		}
		fmt.Fprintf(w, "  %-14s %s", r.State, name)
		if r.Detail != "" {
			fmt.Fprintf(w, " — %s", r.Detail)
		}
		fmt.Fprintln(w)
		if r.Because != "" {
			fmt.Fprintf(w, "  %14s because: %s\n", "", r.Because)
		}
		if r.Waiver != nil && r.State != fairway.ReqWaived {
			fmt.Fprintf(w, "  %14s waiver %d by %s until %s is also in force\n", "", r.Waiver.ID, r.Waiver.ApprovedBy, fmtTime(r.Waiver.ExpiresAt))
		}
		if r.Remedy != "" {
			fmt.Fprintf(w, "  %14s to satisfy: %s\n", "", r.Remedy)
		}
	}
	if len(d.Latest) > 0 {
		fmt.Fprintf(w, "  latest evidence of each kind, required or not:\n")
		for _, e := range d.Latest {
			fmt.Fprintf(w, "  %-14s %s %s — %s\n", strings.ToUpper(e.Outcome), e.Kind, e.ID, e.Detail)
		}
	}
	if failing := d.Failing(); len(failing) > 0 {
		fmt.Fprintf(w, "  WARNING: latest evidence fails (%s); a closer must look at it and acknowledge it: `fairway task close %s --acknowledge %s`\n",
			strings.Join(failing, ", "), d.Task, strings.Join(failing, ","))
	}
	if d.PolicyDigest != "" {
		fmt.Fprintf(w, "  policy %s\n", d.PolicyDigest)
	}
	fmt.Fprintf(w, "  judged snapshot %s\n", d.SnapshotDigest)
}

// taskRecord turns a task's surroundings into the lines `task show`
// prints below the task.
func taskRecord(v *fairway.TaskView) [][2]string {
	var rows [][2]string
	var waits []string
	for _, d := range v.BlockedBy {
		waits = append(waits, d.Key+" ("+d.Status+")")
	}
	rows = append(rows, [2]string{"waits on", joinOrDash(waits)})
	kinds := map[string]int{}
	var order, ev []string
	for _, e := range v.Evidence {
		if kinds[e.Kind] == 0 {
			order = append(order, e.Kind)
		}
		kinds[e.Kind]++
	}
	for _, k := range order {
		ev = append(ev, fmt.Sprintf("%d %s", kinds[k], k))
	}
	rows = append(rows, [2]string{"evidence", joinOrDash(ev)})
	for _, e := range v.Gate.Latest {
		rows = append(rows, [2]string{"latest " + e.Kind, fmt.Sprintf("%s %s: %s", e.ID, e.Outcome, e.Detail)})
	}
	if len(v.Claims) > 0 {
		rows = append(rows, [2]string{"claims", fmt.Sprintf("%d (not evidence)", len(v.Claims))})
	}
	var live []string
	for _, s := range v.Sessions {
		if s.State == fairway.SessionAttached {
			live = append(live, fmt.Sprintf("%s (%s, %s)", s.ID, s.Actor, oneLine(s.Provider)))
		}
	}
	if len(v.Sessions) > 0 {
		rows = append(rows, [2]string{"live sessions", joinOrDash(live)})
	}
	var rv []string
	for _, r := range v.Reviews {
		rv = append(rv, fmt.Sprintf("%s %s by %s", r.Domain, r.Verdict, r.Reviewer))
	}
	rows = append(rows, [2]string{"reviews", joinOrDash(rv)})
	open := 0
	for _, r := range v.Gate.Requirements {
		if r.State == fairway.ReqUnsatisfied {
			open++
		}
	}
	if failing := v.Gate.Failing(); v.Gate.Pass && len(failing) > 0 {
		rows = append(rows, [2]string{"gate", fmt.Sprintf("PASS, but latest evidence fails (%s): closing needs --acknowledge", strings.Join(failing, ", "))})
	} else if v.Gate.Pass {
		rows = append(rows, [2]string{"gate", "PASS"})
	} else {
		rows = append(rows, [2]string{"gate", fmt.Sprintf("FAIL, %d unsatisfied: fairway gate explain %s", open, v.Task.Key)})
	}
	return rows
}
