package fairway

import "strings"

// A monitor task (labelled monitor) names the CI run it watches with
// labels: repo/OWNER/NAME (required, lower-case), and optionally
// workflow/FILE (the workflow's file name, e.g. ci.yml, or the check
// suite's app, e.g. github-actions), run/ID and sha/HEX (a commit or its
// prefix). A terminal event settles every open monitor task whose labels
// all match it.
const (
	LabelMonitor        = "monitor"
	WatchRepoPrefix     = "repo/"
	WatchWorkflowPrefix = "workflow/"
	WatchRunPrefix      = "run/"
	WatchSHAPrefix      = "sha/"
)

// Watch is what a monitor task watches, read from its labels.
type Watch struct {
	Repo, Workflow, Run, SHA string
}

// WatchOf reads a task's watch labels; ok is false when the task is not a
// monitor task or names no repository.
func WatchOf(t *Task) (w Watch, ok bool) {
	monitor := false
	for _, l := range t.Labels {
		switch {
		case l == LabelMonitor:
			monitor = true
		case strings.HasPrefix(l, WatchRepoPrefix):
			w.Repo = strings.TrimPrefix(l, WatchRepoPrefix)
		case strings.HasPrefix(l, WatchWorkflowPrefix):
			w.Workflow = strings.TrimPrefix(l, WatchWorkflowPrefix)
		case strings.HasPrefix(l, WatchRunPrefix):
			w.Run = strings.TrimPrefix(l, WatchRunPrefix)
		case strings.HasPrefix(l, WatchSHAPrefix):
			w.SHA = strings.TrimPrefix(l, WatchSHAPrefix)
		}
	}
	return w, monitor && w.Repo != ""
}

// Matches reports whether a run is the one watched: same repository, and
// the workflow, run id and commit where the watch names them.
func (w Watch) Matches(r *CIRun) bool {
	return w.Repo == strings.ToLower(r.Repo) &&
		(w.Workflow == "" || w.Workflow == strings.ToLower(r.Workflow)) &&
		(w.Run == "" || w.Run == r.Run) &&
		(w.SHA == "" || len(w.SHA) >= 7 && strings.HasPrefix(strings.ToLower(r.Commit), w.SHA))
}
