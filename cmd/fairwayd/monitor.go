package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"fairway"
)

// EvidenceCITerminal is the kind of the evidence a monitor task's gate
// waits for: the watched run's terminal state.
const EvidenceCITerminal = fairway.EvidenceCITerminal

// ciConclusions are the terminal conclusions of a CI run, as GitHub
// reports them; any other run system maps onto them.
var ciConclusions = []string{"success", "failure", "cancelled", "timed_out", "neutral", "skipped", "action_required", "stale"}

// ciTerminal is the content of ci-terminal evidence.
type ciTerminal struct {
	Provider   string `json:"provider"`
	Run        string `json:"run"`
	Workflow   string `json:"workflow,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Conclusion string `json:"conclusion"`
}

// monitorResult is what monitor record did.
type monitorResult struct {
	Evidence *fairway.Evidence `json:"evidence"`
	Task     *fairway.Task     `json:"task"`
	FollowUp *fairway.Task     `json:"follow_up,omitempty"`
}

func init() {
	register(&command{
		name: "monitor record", summary: "Record a watched CI run's terminal state on its monitor task and move the task to review (a human closes it)",
		args:    "--task KEY --run ID|URL --conclusion success|failure|cancelled|timed_out|… [--provider NAME] [--workflow NAME] [--commit SHA]",
		example: `fairway monitor record --task OPS-CI-MONITOR-001 --run https://github.com/acme/gpuaas/actions/runs/42 --conclusion success --as ci`,
		setup: func(fs *flag.FlagSet) runFunc {
			var in ciTerminal
			task := fs.String("task", "", "the monitor task (required)")
			fs.StringVar(&in.Run, "run", "", "the watched run: its id or URL (required)")
			fs.StringVar(&in.Conclusion, "conclusion", "", "the run's terminal conclusion: "+strings.Join(ciConclusions, ", ")+" (required)")
			fs.StringVar(&in.Provider, "provider", "github", "the CI system")
			fs.StringVar(&in.Workflow, "workflow", "", "the workflow or pipeline name")
			fs.StringVar(&in.Commit, "commit", "", "the commit the run built")
			return func(a *app, pos []string) error {
				svc, ctx, err := a.service(pos, 0, "no arguments")
				if err != nil {
					return err
				}
				if err := fairway.ValidateKey("task", *task); err != nil {
					return err
				}
				if strings.TrimSpace(in.Run) == "" {
					return fairway.FieldError("run", "is required: the id or URL of the watched run")
				}
				if !slices.Contains(ciConclusions, in.Conclusion) {
					return fairway.FieldError("conclusion", "%q is not a terminal conclusion: use one of %s; record the run when it has ended", in.Conclusion, strings.Join(ciConclusions, ", "))
				}
				t, err := svc.GetTask(ctx, *task)
				if err != nil {
					return err
				}
				if !slices.Contains(t.Labels, "monitor") {
					return fairway.FieldError("task", "%s is not a monitor task (no monitor label); add the label to have it watch a run", t.Key)
				}
				body, err := json.MarshalIndent(in, "", "  ")
				if err != nil {
					return err
				}
				var out monitorResult
				out.Evidence, err = svc.AddEvidence(ctx, fairway.EvidenceAdd{Task: t.Key, Kind: EvidenceCITerminal, Filename: "ci-run.json", MediaType: "application/json",
					Note: fmt.Sprintf("%s run %s concluded %s", in.Provider, in.Run, in.Conclusion)}, fairway.EvidenceParts{Content: bytes.NewReader(append(body, '\n'))})
				if err != nil {
					return err
				}
				// open or blocked → in_progress → in_review; the gate, and a
				// human, decide the rest.
				if t.Status == fairway.StatusOpen || t.Status == fairway.StatusBlocked {
					if t, err = svc.TransitionTask(ctx, t.Key, fairway.Transition{Status: fairway.StatusInProgress}); err != nil {
						return err
					}
				}
				if t.Status == fairway.StatusInProgress {
					if t, err = svc.TransitionTask(ctx, t.Key, fairway.Transition{Status: fairway.StatusInReview}); err != nil {
						return err
					}
				}
				out.Task = t
				if in.Conclusion != "success" {
					// A failure is terminal evidence too; what failed becomes
					// scoped follow-up work.
					c := fairway.TaskCreate{Title: fmt.Sprintf("Follow-up: %s run %s concluded %s", in.Provider, in.Run, in.Conclusion), Lane: t.Lane, Labels: []string{"follow-up"},
						Scope: fairway.Scope{Text: fmt.Sprintf("Watched by %s; terminal evidence %s", t.Key, out.Evidence.ID)}}
					if t.Lane == "" {
						c.Key = fairway.FollowUpKey(t.Key, out.Evidence.ID)
					}
					if out.FollowUp, err = svc.CreateTask(ctx, c); err != nil {
						return err
					}
				}
				return a.output(out, func(w io.Writer) {
					fmt.Fprintf(w, "recorded %s on %s: %s run %s concluded %s\n", out.Evidence.ID, t.Key, in.Provider, oneLine(in.Run), in.Conclusion)
					fmt.Fprintf(w, "%s is %s; a human closes it once its gate passes: `fairway task close %s`\n", t.Key, t.Status, t.Key)
					if out.FollowUp != nil {
						fmt.Fprintf(w, "follow-up task %s opened\n", out.FollowUp.Key)
					}
				})
			}
		},
	})
}
