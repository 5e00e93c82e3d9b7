package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"fairway"
	"fairway/policy"
)

// evidenceKind: evidence of a kind on the task, present, intact and
// showing success (R3). Waivable unless it is a protected class's
// rollback criteria (R5).
var evidenceKind = requirementKind{
	evaluate: (*Ledger).evidenceRequirement,
	waiver:   waiverUnlessProtected,
	proof: func(task string, n *policy.Need) []proofRef {
		return []proofRef{{task: task, kind: n.Name}}
	},
	request: func(l *Ledger, tx fairway.Tx, p *policy.Policy, in fairway.WaiverRequest) (string, error) {
		return needWaiver(tx, p, in, waiverUnlessProtected)
	},
}

// waiverUnlessProtected lets the need's waiver domain lift it, except a
// control of a protected change class, which is never waived (R5).
func waiverUnlessProtected(n *policy.Need) (string, error) {
	if n.Protected {
		return "", fairway.FieldError("requirement", "%s is a control of a protected change class and cannot be waived (R5)", n.ID)
	}
	return n.WaiverDomain, nil
}

// needWaiver finds the task's need a waiver request names and asks the
// kind who may waive it; a lane-wide request goes to the policy's waiver
// domain.
func needWaiver(tx fairway.Tx, p *policy.Policy, in fairway.WaiverRequest, waiver func(*policy.Need) (string, error)) (string, error) {
	if in.Task == "" {
		return p.Waivers.Domain, nil
	}
	task, err := tx.Task(in.Task)
	if err != nil {
		return "", err
	}
	needs, err := p.Needs(task, false)
	if err != nil {
		return "", err
	}
	for _, n := range needs {
		if n.ID == in.Requirement {
			return waiver(n)
		}
	}
	return "", fairway.FieldError("requirement", "task %s has no requirement %s; see `fairway gate explain %s`", in.Task, in.Requirement, in.Task)
}

func (l *Ledger) evidenceRequirement(tx fairway.Tx, f *facts, n *policy.Need) (fairway.Requirement, error) {
	r := fairway.Requirement{State: fairway.ReqUnsatisfied}
	pr, err := l.proofOf(tx, f, f.task.Key, n.Name)
	if err != nil {
		return r, err
	}
	switch {
	case pr.e == nil:
		r.Detail = "no " + n.Name + " evidence on the task"
		if len(pr.problems) > 0 {
			r.Detail += "; " + strings.Join(pr.problems, "; ")
		}
		r.Remedy = fmt.Sprintf("record %s evidence: `fairway evidence add --task %s --kind %s FILE` (a transcript or claim does not count)", n.Name, f.task.Key, n.Name)
	case !pr.v.ok:
		r.Detail = fmt.Sprintf("%s %s: failing evidence does not count", pr.e.ID, pr.v.failure)
		r.Remedy = pr.v.remedy
	default:
		r.State = fairway.ReqSatisfied
		r.Detail = fmt.Sprintf("%s recorded by %s at %s: %s", pr.e.ID, pr.e.RecordedBy, pr.e.RecordedAt.Format(time.RFC3339), pr.v.shows)
	}
	return r, nil
}

// proof is what the gate found of one kind of evidence on a task.
type proof struct {
	// e is the newest intact proof of the kind, nil when there is none;
	// v is what it shows, and it alone decides.
	e *fairway.Evidence
	v verdict
	// problems name newer proof whose bytes are not intact.
	problems []string
}

// proofOf finds current proof of a kind on a task: not a transcript, not
// superseded, its bytes intact by the blob check made before the
// transaction, and judged by what it shows. The newest such record
// decides, so a later failure undoes an earlier success.
func (l *Ledger) proofOf(tx fairway.Tx, f *facts, task, kind string) (proof, error) {
	var out proof
	list, read := f.proofs[proofRef{task: task, kind: kind}]
	if !read {
		var err error
		if list, err = tx.LatestProof(task, kind); err != nil {
			return out, err
		}
	}
	for _, e := range list {
		if !fairway.CountsAsProof(e) {
			continue
		}
		if problem := f.blobs.problem(e); problem != "" {
			out.problems = append(out.problems, problem)
			continue
		}
		out.e, out.v = e, judge(e, f.policy.SuccessOf(kind))
		return out, nil
	}
	return out, nil
}

// verdict is what one piece of evidence shows.
type verdict struct {
	ok bool
	// shows says what success it shows; failure what it shows instead,
	// and remedy what would mend it.
	shows, failure, remedy string
}

// judge decides whether evidence shows success as the policy defines it
// for its kind: a command's exit code, a JUnit report's tests, a SARIF
// report's findings. Evidence in none of these forms counts by its kind,
// unless the policy requires a form.
func judge(e *fairway.Evidence, s policy.Success) verdict {
	fail := func(failure, remedy string) verdict { return verdict{failure: failure, remedy: remedy} }
	addAgain := fmt.Sprintf("`fairway evidence add --task %s --kind %s FILE`", e.Task, e.Kind)
	if e.Kind == fairway.EvidenceCITerminal && (e.RecordedByKind == fairway.KindAgent || e.Session != "") {
		// Written before such records were refused: how a CI run ended is
		// the CI system's word, never an agent's.
		who := e.RecordedBy + " (" + e.RecordedByKind + ")"
		if e.Session != "" {
			who += " through session " + e.Session
		}
		return fail("was written by hand by "+who+", and how a CI run ended counts only as the CI system's service actor delivers it or a human records it",
			fmt.Sprintf("let the CI webhook deliver the run's end, or have a human record it: `fairway monitor record --task %s --run ID --conclusion C`", e.Task))
	}
	format := ""
	switch {
	case e.Command != nil:
		format = "command"
	case e.Summary != nil:
		format = e.Summary.Format
	}
	if s.Format != "" && s.Format != format {
		if s.Format == "command" {
			return fail(fmt.Sprintf("is not a command result, and the policy requires %s evidence to be one", e.Kind),
				fmt.Sprintf("record %s evidence by running the command: `fairway run --task %s --kind %s -- CMD`", e.Kind, e.Task, e.Kind))
		}
		name := map[string]string{"junit": "JUnit", "sarif": "SARIF"}[s.Format]
		return fail(fmt.Sprintf("is not a %s report, and the policy requires %s evidence to be one", name, e.Kind),
			fmt.Sprintf("record %s evidence as a %s report: %s", e.Kind, name, addAgain))
	}
	var shows []string
	if c := e.Command; c != nil {
		failed := c.ExitCode != 0 || c.Interrupted
		exit := fmt.Sprintf("exited %d", c.ExitCode)
		if c.Interrupted {
			exit += " (interrupted by " + orText(c.Signal, "a signal") + ")"
		}
		switch {
		case failed && s.ExitCode == "zero":
			kindFlag := ""
			if e.Kind != fairway.EvidenceCommandResult {
				kindFlag = " --kind " + e.Kind
			}
			return fail(exit, fmt.Sprintf("run it again until it passes: `fairway run --task %s%s -- %s`", e.Task, kindFlag, shellJoin(c.Argv)))
		case failed:
			shows = append(shows, exit+", which the policy accepts for "+e.Kind)
		default:
			shows = append(shows, exit)
		}
	}
	if sm := e.Summary; sm != nil && sm.Format == "junit" {
		bad := sm.Failed + sm.Errors
		fixTests := "fix what fails and record a passing report: " + addAgain
		switch {
		case s.Tests == "any":
			shows = append(shows, fmt.Sprintf("JUnit report of %d tests, not judged under the policy", sm.Tests))
		case bad > 0:
			return fail(fmt.Sprintf("is a JUnit report of %d tests: %d passed, %d failed, %d errors", sm.Tests, sm.Passed, sm.Failed, sm.Errors), fixTests)
		case sm.Tests == 0 && s.Tests == "passed":
			return fail("is a JUnit report with no tests", fixTests)
		case sm.Passed == 0 && s.Tests == "passed":
			return fail(fmt.Sprintf("is a JUnit report of %d tests of which none passed (%d skipped)", sm.Tests, sm.Skipped), fixTests)
		default:
			shows = append(shows, fmt.Sprintf("JUnit report of %d tests, none failed", sm.Tests))
		}
	}
	if sm := e.Summary; sm != nil && sm.Format == "sarif" {
		if sm.Errors > 0 {
			return fail(fmt.Sprintf("is a SARIF report of a scan that did not complete (%d failed runs or tool errors)", sm.Errors),
				"run the scan again until it completes and record its report: "+addAgain)
		}
		if s.SARIFThreshold == "off" {
			shows = append(shows, "SARIF report, findings not judged under the policy")
		} else {
			var found []string
			for _, level := range sarifLevels[slices.Index(sarifLevels, s.SARIFThreshold):] {
				if n := sm.Findings[level]; n > 0 {
					found = append(found, fmt.Sprintf("%s %d", level, n))
				}
			}
			slices.Reverse(found)
			if len(found) > 0 {
				return fail(fmt.Sprintf("is a SARIF report with findings at or above %s (%s)", s.SARIFThreshold, strings.Join(found, ", ")),
					"fix the findings and record a clean scan: "+addAgain)
			}
			shows = append(shows, "SARIF report with no findings at or above "+s.SARIFThreshold)
		}
	}
	if sm := e.Summary; sm != nil && sm.Format == "ci-run" {
		// A monitor's run ending is what it waits for, however it ended;
		// how it ended is shown, and a failure is flagged to the closer.
		shows = append(shows, "the watched run concluded "+sm.Conclusion)
	}
	if len(shows) == 0 {
		shows = append(shows, "the gate cannot judge what it shows, so it counts by its kind")
	}
	return verdict{ok: true, shows: strings.Join(shows, "; ")}
}

// sarifLevels are SARIF's result levels that are findings, least severe
// first.
var sarifLevels = []string{"note", "warning", "error"}

// shellJoin quotes argv for a command line a person can paste.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// proofRef names evidence a requirement reads: a kind on a task.
type proofRef struct{ task, kind string }

// blobCheck is what a look at the blob store found before the
// transaction, so that no blob I/O runs inside one: digest → size, or -1
// when the blob is missing or unreadable. Records older than the newest
// intact one are not looked at: they cannot decide. A nil check means
// there is no blob store to check.
type blobCheck struct {
	// off means there is no blob store to check against.
	off   bool
	sizes map[string]int64
}

// problem says why evidence's bytes do not count as intact, or "".
func (b *blobCheck) problem(e *fairway.Evidence) string {
	if b == nil || b.off {
		return ""
	}
	size, checked := b.sizes[e.Digest]
	switch {
	case !checked:
		return fmt.Sprintf("%s was recorded after its bytes were checked; ask again", e.ID)
	case size != e.Size:
		return fmt.Sprintf("%s is no longer intact in the blob store", e.ID)
	}
	return ""
}

// blobLook is how closely the bytes of proof are looked at.
type blobLook int

const (
	// statBlobs compares each blob's size with its record's: what a
	// view of the gate needs, often and cheaply.
	statBlobs blobLook = iota
	// hashBlobs also hashes each blob of the right size: what an act on
	// the gate (a close, a start, a stage move) needs, so that bytes
	// replaced in the blob store by ones of the same size never decide.
	hashBlobs
)

// checkBlobs looks, with the caller's context and outside any
// transaction, at the bytes of every piece of proof the gate of key would
// read. With onlyProtected it checks only the proof of protected
// controls of a mutating task: what starting work needs (R5).
func (l *Ledger) checkBlobs(ctx context.Context, key string, onlyProtected bool, look blobLook) (*blobCheck, error) {
	return l.checkBlobsOf(ctx, key, onlyProtected, look, nil)
}

// checkBlobsOf is checkBlobs for the task as edit leaves it: what an
// update that would start protected work needs checked. An edit that
// returns nil asks for nothing to be checked.
func (l *Ledger) checkBlobsOf(ctx context.Context, key string, onlyProtected bool, look blobLook, edit func(*fairway.Task) *fairway.Task) (*blobCheck, error) {
	if l.Blobs == nil {
		return &blobCheck{off: true}, nil
	}
	// Per piece of proof read, its records newest first: the gate stops
	// at the first intact one, and so does the check.
	var lists [][]*fairway.Evidence
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		lists = lists[:0]
		task, err := tx.Task(key)
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			return nil // the operation itself says so, after its own checks
		} else if err != nil {
			return err
		}
		if edit != nil {
			if task = edit(task); task == nil {
				return nil
			}
		}
		if onlyProtected && !task.Mutating {
			return nil
		}
		p, _, err := l.activePolicy(tx)
		if err != nil || p == nil {
			return err
		}
		_, err = tx.PolicyProposal(key)
		if code := fairway.ErrorCode(err); err != nil && code != fairway.ENOTFOUND {
			return err
		}
		needs, err := p.Needs(task, err == nil)
		if err != nil {
			return err
		}
		var refs []proofRef
		for _, n := range needs {
			k, ok := requirementKinds[n.Kind]
			if !ok || k.proof == nil || onlyProtected && !n.Protected {
				continue
			}
			refs = append(refs, k.proof(key, n)...)
		}
		proofs, err := readProofs(tx, refs)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			lists = append(lists, slices.DeleteFunc(slices.Clone(proofs[ref]), func(e *fairway.Evidence) bool { return !fairway.CountsAsProof(e) }))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.statProof(ctx, lists, look)
}

// readProofs reads the current proof of every ref, newest first, in one
// query per task rather than one per kind.
func readProofs(tx fairway.Tx, refs []proofRef) (map[proofRef][]*fairway.Evidence, error) {
	kinds := map[string][]string{}
	var tasks []string
	for _, ref := range refs {
		if _, ok := kinds[ref.task]; !ok {
			tasks = append(tasks, ref.task)
		}
		if !slices.Contains(kinds[ref.task], ref.kind) {
			kinds[ref.task] = append(kinds[ref.task], ref.kind)
		}
	}
	out := make(map[proofRef][]*fairway.Evidence, len(refs))
	for _, task := range tasks {
		lists, err := tx.LatestProofs(task, kinds[task])
		if err != nil {
			return nil, err
		}
		for i, kind := range kinds[task] {
			out[proofRef{task: task, kind: kind}] = lists[i]
		}
	}
	return out, nil
}

// statProof looks, outside any transaction, at the bytes of lists of
// proof records, each newest first, stopping in each list at the first
// intact one: older records cannot decide.
func (l *Ledger) statProof(ctx context.Context, lists [][]*fairway.Evidence, look blobLook) (*blobCheck, error) {
	if l.Blobs == nil {
		return &blobCheck{off: true}, nil
	}
	check := &blobCheck{sizes: map[string]int64{}}
	for _, list := range lists {
		for _, e := range list {
			size, seen := check.sizes[e.Digest]
			if !seen {
				var err error
				size, err = l.Blobs.Stat(ctx, e.Digest)
				if cerr := ctx.Err(); cerr != nil {
					return nil, cerr
				}
				if err != nil {
					size = -1
				}
				if size == e.Size && look == hashBlobs {
					if size, err = l.hashedSize(ctx, e.Digest); err != nil {
						return nil, err
					}
				}
				check.sizes[e.Digest] = size
			}
			if size == e.Size {
				break
			}
		}
	}
	return check, nil
}

// hashedSize reads a blob whole and returns its size, or -1 when its
// bytes do not hash to digest or cannot be read. Only the caller's
// context ending is an error.
func (l *Ledger) hashedSize(ctx context.Context, digest string) (int64, error) {
	rc, err := l.Blobs.Open(ctx, digest)
	if err != nil {
		return -1, ctx.Err()
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if cerr := ctx.Err(); cerr != nil {
		return 0, cerr
	}
	if err != nil || "sha256:"+hex.EncodeToString(h.Sum(nil)) != digest {
		return -1, nil
	}
	return n, nil
}

// latestEvidence judges the newest current evidence of every kind on the
// task, required or not, by kind: what the gate shows beside its
// requirements so that failing evidence nothing asks for is never hidden
// behind a pass. Transcripts are context, not evidence of an outcome.
func latestEvidence(tx fairway.Tx, f *facts) ([]fairway.EvidenceOutcome, error) {
	newest, err := tx.NewestEvidence(f.task.Key)
	if err != nil {
		return nil, err
	}
	out := make([]fairway.EvidenceOutcome, 0, len(newest))
	for _, e := range newest {
		if !fairway.CountsAsProof(e) {
			continue
		}
		kind := e.Kind
		o := fairway.EvidenceOutcome{ID: e.ID, Kind: kind}
		switch v := judge(e, f.policy.SuccessOf(kind)); {
		case !v.ok:
			o.Outcome, o.Detail = fairway.OutcomeFailing, v.failure
		case e.Summary != nil && e.Summary.Format == "ci-run" && e.Summary.Conclusion != "success":
			// Terminal evidence satisfies the monitor, but a run that did
			// not succeed is never shown as fine: a closer acknowledges it.
			o.Outcome, o.Detail = fairway.OutcomeFailing, "the watched run concluded "+e.Summary.Conclusion
		case e.Command == nil && e.Summary == nil:
			o.Outcome, o.Detail = fairway.OutcomeUnjudged, "the gate cannot judge what it shows"
		default:
			o.Outcome, o.Detail = fairway.OutcomeOK, v.shows
		}
		out = append(out, o)
	}
	return out, nil
}

// acknowledgement checks that a closer named every piece of failing
// latest evidence and nothing else, so that a close over a failure is
// always a decision someone made and the log says who.
func acknowledgement(d *fairway.GateDecision, acknowledge []string) *fairway.Error {
	failing := d.Failing()
	for _, id := range acknowledge {
		if !slices.Contains(failing, id) {
			return fairway.FieldError("acknowledge", "%s is not failing latest evidence of %s; acknowledge only what `fairway gate explain %s` lists as failing", id, d.Task, d.Task)
		}
	}
	var all, missing []string
	for _, e := range d.Latest {
		if e.Outcome != fairway.OutcomeFailing {
			continue
		}
		all = append(all, fmt.Sprintf("%s (%s: %s)", e.ID, e.Kind, e.Detail))
		if !slices.Contains(acknowledge, e.ID) {
			missing = append(missing, e.ID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fairway.Errorf(fairway.ECONFLICT, "the latest evidence of %s fails: %s; not acknowledged: %s. Look at it, then close with `fairway task close %s --acknowledge %s`, or record passing evidence",
		d.Task, strings.Join(all, ", "), strings.Join(missing, ", "), d.Task, strings.Join(failing, " --acknowledge "))
}
