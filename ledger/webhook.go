package ledger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fairway"
	"fairway/policy"
)

// ReceiveWebhook verifies a CI event and settles the monitor tasks that
// watch its run. The signature is checked with the secret the policy's
// webhook names, read from the server's environment; a bad one is
// refused and audited. Everything is written by the webhook's service
// actor, whoever delivered it. An event received before (by its delivery
// id, or its body under another id) is a no-op.
//
// Once only, across replicas: before its effects a delivery claims the
// event (webhook.claim) in a transaction that reads the event's earlier
// receipts and claims, and the store serializes writes, so of the
// replicas it reaches at once exactly one applies it; another answers
// duplicate, or ECONFLICT (audited) while the claim's DeliveryLease
// holds. The receipt (webhook.receive) is written after the effects, so
// a crash in between leaves the claim to end with its lease and the
// event to a redelivery, which applies it, keeping what the crashed
// claim recorded: nothing acknowledged is lost (R12), nothing applied
// twice. A delivery that fails after its claim releases it
// (webhook.release) so a retry need not wait for the lease.
func (l *Ledger) ReceiveWebhook(ctx context.Context, d fairway.WebhookDelivery) (*fairway.WebhookResult, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	var cfg *policy.Webhook
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		p, _, err := l.activePolicy(tx)
		if err != nil {
			return err
		}
		if p != nil {
			cfg = p.Webhooks[d.Source]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, fairway.Errorf(fairway.ECONFLICT, "the policy in force configures no %s webhook; add webhooks.%s with secret_env and actor", d.Source, d.Source)
	}
	// The webhook's service actor acts, never the caller's credential.
	ctx = fairway.NewContextWithAuth(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: cfg.Actor}), &fairway.Auth{})
	subject := "webhook:" + d.Source + ":" + d.Delivery
	getenv := l.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	secret := getenv(cfg.SecretEnv)
	if secret == "" {
		return nil, fairway.Errorf(fairway.ECONFLICT, "the server has no %s webhook secret: set $%s in its environment to the secret the CI signs with", d.Source, cfg.SecretEnv)
	}
	if reason := verifySignature(d, secret, cfg.Skew(), l.now()); reason != "" {
		refused := fairway.Errorf(fairway.EUNAUTHORIZED, "the %s webhook delivery %s is refused: %s", d.Source, d.Delivery, reason)
		// Anyone can post here: refusals are audited up to a rate, and
		// the next audited one counts those that were not.
		audit, suppressed := l.webhookRefusals.allow(d.Source, l.now())
		if !audit {
			return nil, refused
		}
		err := l.write(ctx, "webhook.receive", subject, func(w *write) error {
			change := map[string]any{"code": refused.Code, "reason": refused.Message, "source": d.Source, "event": d.Event, "delivery": d.Delivery}
			if suppressed > 0 {
				change["unaudited_refusals_before"] = suppressed
			}
			return w.refuseWith(refused, change)
		})
		return nil, err
	}
	// The actor's kind is checked before anything is written in its name.
	var notService *fairway.Error
	err = l.store.View(ctx, func(tx fairway.Tx) error {
		a, err := tx.Actor(cfg.Actor)
		if err != nil {
			return err
		}
		if a.Kind != fairway.KindService {
			notService = fairway.Errorf(fairway.EFORBIDDEN, "webhook actor %s is a %s; the policy must name a service actor to record CI events", a.Name, a.Kind)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if notService != nil {
		return nil, l.write(ctx, "webhook.receive", subject, func(w *write) error { return w.refuse(notService) })
	}
	// Neither GitHub nor the generic source signs the delivery id: the
	// same signed body under another id is a replay of the same event,
	// and is recognised by the body's digest.
	sum := sha256.Sum256(d.Body)
	bodySubject := "webhook:" + d.Source + ":sha256:" + hex.EncodeToString(sum[:])
	out := &fairway.WebhookResult{Delivery: d.Delivery, Tasks: []*fairway.WebhookTouch{}}
	run, ignored, err := parseCIEvent(d)
	if err != nil {
		return nil, err
	}
	out.Run, out.Ignored = run, ignored
	unlock := l.webhooks.lock(bodySubject)
	defer unlock()
	claim := int64(0)
	if run != nil && ignored == "" {
		// Effects are several writes: claim the event first, in a
		// transaction that sees every earlier claim and receipt, so of
		// the replicas it reaches at once exactly one applies it.
		var duplicate, resume bool
		claim, duplicate, resume, err = l.claimDelivery(ctx, d, subject, bodySubject)
		if err != nil || duplicate {
			return duplicateResult(d, duplicate), err
		}
		if err := l.settleMonitors(ctx, d, run, resume, out); err != nil {
			// Let a retry take the event now rather than when the lease
			// ends. A crash skips this; then the lease ends the claim.
			l.releaseDelivery(context.WithoutCancel(ctx), bodySubject, claim, err)
			return nil, err
		}
		if len(out.Tasks) == 0 {
			out.Ignored = fmt.Sprintf("no open monitor task watches %s run %s of %s (labels monitor and repo/%s)", run.Provider, run.Run, run.Repo, strings.ToLower(run.Repo))
		}
	}
	duplicate := false
	err = l.write(ctx, "webhook.receive", bodySubject, func(w *write) error {
		duplicate = false
		if w.by.Kind != fairway.KindService {
			return w.refuse(fairway.Errorf(fairway.EFORBIDDEN, "webhook actor %s is a %s; the policy must name a service actor to record CI events", w.by.Name, w.by.Kind))
		}
		change := map[string]any{"source": d.Source, "event": d.Event, "delivery": d.Delivery, "run": run, "ignored": out.Ignored}
		if claim == 0 {
			// Nothing was applied under a claim: the receipt is the
			// once-only write, checked in its own transaction.
			state, err := readDeliveryState(w.tx, subject, bodySubject)
			if err != nil {
				return err
			}
			if duplicate = state.received; duplicate {
				return errDuplicateDelivery
			}
		} else {
			change["claim"] = claim
		}
		tasks := make([]string, 0, len(out.Tasks))
		for _, t := range out.Tasks {
			tasks = append(tasks, t.Task)
		}
		change["tasks"] = tasks
		return w.record(change)
	})
	if duplicate && errors.Is(err, errDuplicateDelivery) {
		return duplicateResult(d, true), nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeliveryLease is how long a claim on a CI event holds without a
// receipt. Applying an event takes a few writes per watching task:
// milliseconds each, seconds under load, far below five minutes, so a
// live replica is not overtaken. A replica that crashed after its claim
// leaves the event to a redelivery once the lease ends, within minutes;
// GitHub waits 10 seconds for an answer and is redelivered by hand, other
// CIs retry with a backoff of minutes.
const DeliveryLease = 5 * time.Minute

// errDuplicateDelivery rolls back a write that found its event received.
var errDuplicateDelivery = errors.New("the delivery was received before")

// duplicateResult is the answer to an event received before.
func duplicateResult(d fairway.WebhookDelivery, duplicate bool) *fairway.WebhookResult {
	if !duplicate {
		return nil
	}
	return &fairway.WebhookResult{Delivery: d.Delivery, Duplicate: true, Tasks: []*fairway.WebhookTouch{}}
}

// claimDelivery claims a CI event for this request, audited as
// webhook.claim with the time its lease ends; claim is the claim's audit
// sequence number. It reports a duplicate when the event was received
// before, and refuses (ECONFLICT, audited) while another request's claim
// holds. An ended claim is taken over, and the claim says whose. resume
// says an earlier claim may have applied part of the event.
func (l *Ledger) claimDelivery(ctx context.Context, d fairway.WebhookDelivery, subject, bodySubject string) (claim int64, duplicate, resume bool, err error) {
	err = l.write(ctx, "webhook.claim", bodySubject, func(w *write) error {
		claim, duplicate, resume = 0, false, false
		if w.by.Kind != fairway.KindService {
			return w.refuse(fairway.Errorf(fairway.EFORBIDDEN, "webhook actor %s is a %s; the policy must name a service actor to record CI events", w.by.Name, w.by.Kind))
		}
		state, err := readDeliveryState(w.tx, subject, bodySubject)
		if err != nil {
			return err
		}
		if duplicate = state.received; duplicate {
			return errDuplicateDelivery
		}
		change := map[string]any{"source": d.Source, "event": d.Event, "delivery": d.Delivery, "until": w.now.Add(DeliveryLease)}
		if held := state.claim; held != nil {
			if w.now.Before(held.Until) {
				return w.refuseWith(fairway.Errorf(fairway.ECONFLICT,
					"the %s event of delivery %s is being applied by another request (delivery %s, claimed by %s until %s); retry after that: it is then a duplicate if that request finished, or applied if it did not",
					d.Source, d.Delivery, held.Delivery, held.By, held.Until.Format(time.RFC3339)),
					map[string]any{"code": fairway.ECONFLICT, "reason": "claimed", "delivery": d.Delivery, "claim": held.Seq, "until": held.Until})
			}
			change["takes_over"] = held.Seq
		}
		resume = state.claimed
		if err := w.record(change); err != nil {
			return err
		}
		head, err := w.tx.AuditHead()
		claim = head.Seq
		return err
	})
	if duplicate && errors.Is(err, errDuplicateDelivery) {
		return 0, true, false, nil
	}
	return claim, false, resume, err
}

// releaseDelivery ends a claim whose event could not be applied, audited
// as webhook.release with the reason. It is best effort: when it fails
// too, the claim's lease ends it.
func (l *Ledger) releaseDelivery(ctx context.Context, bodySubject string, claim int64, cause error) {
	_ = l.write(ctx, "webhook.release", bodySubject, func(w *write) error {
		return w.record(map[string]any{"claim": claim, "code": fairway.ErrorCode(cause), "reason": fairway.ErrorMessage(cause)})
	})
}

// deliveryState is what the audit log says of a CI event: received, or
// claimed by a request whose lease may still hold.
type deliveryState struct {
	received bool
	// claimed: some request claimed the event before, whether or not
	// its claim still holds.
	claimed bool
	// claim is the newest claim not released; nil when none.
	claim *deliveryClaim
}

// deliveryClaim is a webhook.claim event's change.
type deliveryClaim struct {
	Seq      int64     `json:"-"`
	By       string    `json:"-"`
	Delivery string    `json:"delivery"`
	Until    time.Time `json:"until"`
}

// readDeliveryState reads a CI event's receipts, claims and releases
// under its subjects: the delivery id's (where receipts were once kept)
// and the body digest's.
func readDeliveryState(tx fairway.Tx, subjects ...string) (deliveryState, error) {
	var s deliveryState
	for _, subject := range subjects {
		for after := int64(0); ; {
			events, err := tx.AuditEvents(fairway.AuditFilter{Subject: subject, AfterSeq: after, Limit: 100})
			if err != nil {
				return s, err
			}
			for _, e := range events {
				switch e.Action {
				case "webhook.receive":
					s.received = true
				case "webhook.claim":
					c := &deliveryClaim{Seq: e.Seq, By: e.Actor}
					if err := json.Unmarshal(e.Change, c); err != nil {
						return s, fmt.Errorf("webhook claim %d: %w", e.Seq, err)
					}
					s.claim, s.claimed = c, true
				case "webhook.release":
					var r struct {
						Claim int64 `json:"claim"`
					}
					if err := json.Unmarshal(e.Change, &r); err != nil {
						return s, fmt.Errorf("webhook release %d: %w", e.Seq, err)
					}
					if s.claim != nil && s.claim.Seq == r.Claim {
						s.claim = nil
					}
				}
				after = e.Seq
			}
			if len(events) < 100 {
				break
			}
		}
	}
	return s, nil
}

// eventLocks hands out one mutex per key, kept while anyone holds or
// waits for it.
type eventLocks struct {
	mu   sync.Mutex
	held map[string]*eventLock
}

type eventLock struct {
	sync.Mutex
	users int
}

// lock takes key's mutex and returns its unlock.
func (k *eventLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.held == nil {
		k.held = map[string]*eventLock{}
	}
	m := k.held[key]
	if m == nil {
		m = &eventLock{}
		k.held[key] = m
	}
	m.users++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.users--; m.users == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
}

// verifySignature says why a delivery's signature does not hold, or "".
func verifySignature(d fairway.WebhookDelivery, secret string, skew time.Duration, now time.Time) string {
	hexSig, ok := strings.CutPrefix(d.Signature, "sha256=")
	if !ok {
		return "no sha256= signature (X-Hub-Signature-256, or X-Fairway-Signature for the generic source)"
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return "the signature is not hex"
	}
	mac := hmac.New(sha256.New, []byte(secret))
	if d.Source == fairway.WebhookGeneric {
		sec, err := strconv.ParseInt(d.Timestamp, 10, 64)
		if err != nil {
			return "no timestamp (X-Fairway-Timestamp, Unix seconds)"
		}
		at := time.Unix(sec, 0)
		if at.Before(now.Add(-skew)) || at.After(now.Add(skew)) {
			return fmt.Sprintf("its timestamp %s is more than %s from the server's clock", at.UTC().Format(time.RFC3339), skew)
		}
		mac.Write([]byte(d.Timestamp + "."))
	}
	mac.Write(d.Body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "the signature does not match the body"
	}
	return ""
}

// parseCIEvent reads the run an event reports, or says why it is ignored.
func parseCIEvent(d fairway.WebhookDelivery) (*fairway.CIRun, string, error) {
	bad := func(err error) error {
		return fairway.FieldError("body", "is not a %s %s payload: %v", d.Source, orText(d.Event, "event"), err)
	}
	type repo struct {
		FullName string `json:"full_name"`
	}
	switch {
	case d.Source == fairway.WebhookGeneric:
		var r fairway.CIRun
		dec := json.NewDecoder(bytes.NewReader(d.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, "", bad(err)
		}
		if r.Repo == "" || r.Run == "" || r.Status == "" {
			return nil, "", fairway.FieldError("body", "a generic event needs repo, run and status (and conclusion once completed)")
		}
		r.Provider = orText(r.Provider, "ci")
		if !r.Terminal() {
			return &r, "the run has not ended (status " + r.Status + ")", nil
		}
		return &r, "", nil
	case d.Event == "workflow_run":
		// https://docs.github.com/en/webhooks/webhook-events-and-payloads#workflow_run
		var p struct {
			Action      string `json:"action"`
			Repository  repo   `json:"repository"`
			WorkflowRun *struct {
				ID         int64  `json:"id"`
				Name       string `json:"name"`
				Path       string `json:"path"`
				HeadSHA    string `json:"head_sha"`
				HTMLURL    string `json:"html_url"`
				Status     string `json:"status"`
				Conclusion string `json:"conclusion"`
			} `json:"workflow_run"`
			Workflow *struct {
				Path string `json:"path"`
			} `json:"workflow"`
		}
		if err := json.Unmarshal(d.Body, &p); err != nil {
			return nil, "", bad(err)
		}
		wr := p.WorkflowRun
		if wr == nil || p.Repository.FullName == "" {
			return nil, "", bad(fmt.Errorf("no workflow_run or repository"))
		}
		file := wr.Path
		if file == "" && p.Workflow != nil {
			file = p.Workflow.Path
		}
		r := &fairway.CIRun{Provider: "github", Repo: strings.ToLower(p.Repository.FullName), Workflow: strings.ToLower(path.Base(file)),
			Run: strconv.FormatInt(wr.ID, 10), URL: wr.HTMLURL, Commit: wr.HeadSHA, Status: wr.Status, Conclusion: wr.Conclusion}
		if file == "" {
			r.Workflow = strings.ToLower(wr.Name)
		}
		if p.Action != "completed" || !r.Terminal() {
			return r, fmt.Sprintf("workflow run %s is %s (action %s), not completed", r.Run, r.Status, p.Action), nil
		}
		return r, "", nil
	case d.Event == "check_suite":
		// https://docs.github.com/en/webhooks/webhook-events-and-payloads#check_suite
		var p struct {
			Action     string `json:"action"`
			Repository repo   `json:"repository"`
			CheckSuite *struct {
				ID         int64  `json:"id"`
				HeadSHA    string `json:"head_sha"`
				Status     string `json:"status"`
				Conclusion string `json:"conclusion"`
				URL        string `json:"url"`
				App        struct {
					Slug string `json:"slug"`
				} `json:"app"`
			} `json:"check_suite"`
		}
		if err := json.Unmarshal(d.Body, &p); err != nil {
			return nil, "", bad(err)
		}
		cs := p.CheckSuite
		if cs == nil || p.Repository.FullName == "" {
			return nil, "", bad(fmt.Errorf("no check_suite or repository"))
		}
		r := &fairway.CIRun{Provider: "github", Repo: strings.ToLower(p.Repository.FullName), Workflow: strings.ToLower(cs.App.Slug),
			Run: strconv.FormatInt(cs.ID, 10), URL: cs.URL, Commit: cs.HeadSHA, Status: cs.Status, Conclusion: cs.Conclusion}
		if p.Action != "completed" || !r.Terminal() {
			return r, fmt.Sprintf("check suite %s is %s (action %s), not completed", r.Run, r.Status, p.Action), nil
		}
		return r, "", nil
	case d.Event == "ping":
		return nil, "ping: the webhook is set up", nil
	}
	return nil, fmt.Sprintf("GitHub event %q is not one Fairway acts on (workflow_run, check_suite)", d.Event), nil
}

// settleMonitors records the terminal run on each open monitor task
// watching it, moves the task to review, and opens a follow-up when the
// run did not succeed. resume finishes what an earlier claim on the
// event began: a task that has the same terminal record keeps it and
// its follow-up, and is not given a second of either.
func (l *Ledger) settleMonitors(ctx context.Context, d fairway.WebhookDelivery, run *fairway.CIRun, resume bool, out *fairway.WebhookResult) error {
	var watching []*fairway.Task
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		tasks, err := tx.WatchingTasks(strings.ToLower(run.Repo))
		for _, t := range tasks {
			if w, ok := fairway.WatchOf(t); ok && w.Matches(run) && !fairway.IsTerminal(t.Status) {
				watching = append(watching, t)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(map[string]any{"provider": run.Provider, "repo": run.Repo, "workflow": run.Workflow, "run": run.Run,
		"url": run.URL, "commit": run.Commit, "conclusion": run.Conclusion, "source": d.Source, "delivery": d.Delivery}, "", "  ")
	if err != nil {
		return err
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for _, t := range watching {
		var e *fairway.Evidence
		var followUp *fairway.Task
		if resume {
			if e, followUp, err = l.settledBefore(ctx, t, digest); err != nil {
				return err
			}
		}
		if e == nil {
			e, err = l.AddEvidence(ctx, fairway.EvidenceAdd{Task: t.Key, Kind: fairway.EvidenceCITerminal, Filename: "ci-run.json", MediaType: "application/json",
				Note: fmt.Sprintf("%s run %s of %s (%s) concluded %s; %s webhook delivery %s", run.Provider, run.Run, run.Repo, orText(run.Workflow, "-"), run.Conclusion, d.Source, d.Delivery)},
				fairway.EvidenceParts{Content: bytes.NewReader(body)})
			if err != nil {
				return err
			}
		}
		touch := &fairway.WebhookTouch{Task: t.Key, Evidence: e.ID}
		// open or blocked → in_progress → in_review; the gate, and a
		// human, decide the rest.
		// A move the rules refuse (a protected mutating task may not
		// start, R5) leaves the task where it is, with the refusal named
		// and audited; the other tasks and the receipt go on, so a
		// redelivery does not settle them twice.
		move := func(to string) error {
			moved, err := l.TransitionTask(ctx, t.Key, fairway.Transition{Status: to})
			if code := fairway.ErrorCode(err); code == fairway.EFORBIDDEN || code == fairway.ECONFLICT || code == fairway.EGATEFAILED {
				touch.Refused = fairway.ErrorMessage(err)
				return nil
			}
			if err == nil {
				t = moved
			}
			return err
		}
		if t.Status == fairway.StatusOpen || t.Status == fairway.StatusBlocked {
			if err := move(fairway.StatusInProgress); err != nil {
				return err
			}
		}
		if t.Status == fairway.StatusInProgress && touch.Refused == "" {
			if err := move(fairway.StatusInReview); err != nil {
				return err
			}
		}
		touch.Status = t.Status
		if followUp != nil {
			touch.FollowUp = followUp.Key
		} else if run.Conclusion != "success" {
			// A failure is terminal evidence too; what failed becomes
			// scoped follow-up work.
			c := fairway.TaskCreate{Title: clipTitle(fmt.Sprintf("Follow-up: %s run %s of %s concluded %s", run.Provider, run.Run, run.Repo, run.Conclusion)),
				Lane: t.Lane, Labels: []string{"follow-up"},
				Scope: fairway.Scope{Text: fmt.Sprintf("Watched by %s; terminal evidence %s; %s run %s of %s at %s", t.Key, e.ID, run.Provider, run.Run, run.Repo, orText(run.Commit, "an unknown commit"))}}
			if t.Lane == "" {
				c.Key = fairway.FollowUpKey(t.Key, e.ID)
			}
			fu, err := l.CreateTask(ctx, c)
			if err != nil {
				return err
			}
			touch.FollowUp = fu.Key
		}
		out.Tasks = append(out.Tasks, touch)
	}
	return nil
}

// settledBefore finds what an earlier claim on a CI event recorded on a
// monitor task: its terminal record of the same bytes, and the follow-up
// opened for that record; nil for what it did not record.
func (l *Ledger) settledBefore(ctx context.Context, t *fairway.Task, digest string) (*fairway.Evidence, *fairway.Task, error) {
	var e *fairway.Evidence
	var followUp *fairway.Task
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		e, followUp = nil, nil
		records, err := tx.EvidenceList(fairway.EvidenceFilter{Task: t.Key, Kind: fairway.EvidenceCITerminal})
		if err != nil {
			return err
		}
		for _, r := range records {
			if r.Digest == digest {
				e = r
			}
		}
		if e == nil {
			return nil
		}
		// A lane-less task's follow-up is named after the record; a
		// lane's takes the lane's next key, so it is found by its scope.
		mark := "terminal evidence " + e.ID + ";"
		var candidates []*fairway.Task
		if t.Lane == "" {
			fu, err := tx.Task(fairway.FollowUpKey(t.Key, e.ID))
			if fairway.ErrorCode(err) == fairway.ENOTFOUND {
				return nil
			} else if err != nil {
				return err
			}
			candidates = []*fairway.Task{fu}
		} else if candidates, err = tx.Tasks(fairway.TaskFilter{Lane: t.Lane}); err != nil {
			return err
		}
		for _, c := range candidates {
			if strings.Contains(c.Scope.Text, mark) && slices.Contains(c.Labels, "follow-up") {
				followUp = c
			}
		}
		return nil
	})
	return e, followUp, err
}

// refusalLimit bounds how many refused webhook deliveries a source gets
// audited per minute: an unauthenticated sender cannot flood the log.
const refusalLimit = 30

// refusalBudget counts refused deliveries per source in the current
// minute, and those left unaudited since the last audited one.
type refusalBudget struct {
	mu         sync.Mutex
	window     time.Time
	counts     map[string]int
	suppressed map[string]int
}

// allow says whether a refusal from source is audited now, and how many
// before it were not.
func (b *refusalBudget) allow(source string, now time.Time) (bool, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if minute := now.Truncate(time.Minute); !minute.Equal(b.window) || b.counts == nil {
		b.window, b.counts = minute, map[string]int{}
		if b.suppressed == nil {
			b.suppressed = map[string]int{}
		}
	}
	if b.counts[source] >= refusalLimit {
		b.suppressed[source]++
		return false, 0
	}
	b.counts[source]++
	n := b.suppressed[source]
	b.suppressed[source] = 0
	return true, n
}
