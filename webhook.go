package fairway

import (
	"context"
	"strings"
)

// Webhook sources.
const (
	// WebhookGitHub takes GitHub's workflow_run and check_suite events,
	// signed with X-Hub-Signature-256.
	WebhookGitHub = "github"
	// WebhookGeneric takes any CI's terminal events as Fairway's own JSON,
	// signed over the timestamp and the body.
	WebhookGeneric = "generic"
)

// WebhookDelivery is one signed event as received, before it is trusted.
type WebhookDelivery struct {
	Source string `json:"source"`
	// Event is GitHub's X-GitHub-Event; the generic source needs none.
	Event string `json:"event,omitempty"`
	// Delivery identifies the delivery; a delivery seen before is a
	// no-op, and so is its body under another id.
	Delivery string `json:"delivery"`
	// Signature is "sha256=" and the hex HMAC-SHA256 of the body (GitHub)
	// or of "TIMESTAMP.BODY" (generic).
	Signature string `json:"signature"`
	// Timestamp is the generic source's Unix time of signing, which
	// bounds how long a captured delivery can be replayed.
	Timestamp string `json:"timestamp,omitempty"`
	Body      []byte `json:"body"`
}

// Validate checks the fields that need no store.
func (d *WebhookDelivery) Validate() error {
	if d.Source != WebhookGitHub && d.Source != WebhookGeneric {
		return FieldError("source", "%q is not a webhook source: use github or generic", clip(d.Source))
	}
	if strings.TrimSpace(d.Delivery) == "" {
		return FieldError("delivery", "is required: the delivery id (X-GitHub-Delivery, or X-Fairway-Delivery for the generic source)")
	}
	if err := CheckLine("delivery", d.Delivery, 100); err != nil {
		return err
	}
	if err := CheckLine("event", d.Event, 100); err != nil {
		return err
	}
	if d.Source == WebhookGitHub && d.Event == "" {
		return FieldError("event", "is required: GitHub names it in X-GitHub-Event")
	}
	return nil
}

// CIRun is a CI run as a webhook reported it.
type CIRun struct {
	Provider string `json:"provider"`
	// Repo is owner/name, lower-case.
	Repo     string `json:"repo"`
	Workflow string `json:"workflow,omitempty"`
	Run      string `json:"run"`
	URL      string `json:"url,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Status   string `json:"status"`
	// Conclusion is set once the run is terminal: success, failure, …
	Conclusion string `json:"conclusion,omitempty"`
}

// Terminal reports whether the run has ended.
func (r *CIRun) Terminal() bool { return r.Status == "completed" && r.Conclusion != "" }

// WebhookResult is what a delivery did.
type WebhookResult struct {
	Delivery string `json:"delivery"`
	// Duplicate: the delivery was received before; nothing was done.
	// The same delivery still being applied by another request (another
	// replica) is not a result but an ECONFLICT error: it is not yet
	// received, and a CI must keep it as undelivered.
	Duplicate bool `json:"duplicate,omitempty"`
	// Ignored says why an authentic delivery changed nothing (an event
	// Fairway does not act on, a run not yet ended, no task watching).
	Ignored string          `json:"ignored,omitempty"`
	Run     *CIRun          `json:"run,omitempty"`
	Tasks   []*WebhookTouch `json:"tasks"`
}

// WebhookTouch is one monitor task a terminal event settled.
type WebhookTouch struct {
	Task     string `json:"task"`
	Evidence string `json:"evidence"`
	Status   string `json:"status"`
	FollowUp string `json:"follow_up,omitempty"`
	// Refused says why the task could not be moved toward review (the
	// terminal record is on it all the same).
	Refused string `json:"refused,omitempty"`
}

// WebhookService receives CI events.
type WebhookService interface {
	// ReceiveWebhook verifies a delivery's signature with the secret the
	// policy names (read from the server's environment, never stored),
	// and records a terminal run as ci-terminal evidence on each monitor
	// task watching it, moving the task to review; a failure also opens a
	// follow-up. A bad signature is refused and audited; a delivery seen
	// before is a no-op; one being applied by another request, at any
	// replica, is refused with ECONFLICT until that request's claim
	// ends. It acts as the service actor the policy names, whoever calls
	// it.
	ReceiveWebhook(ctx context.Context, d WebhookDelivery) (*WebhookResult, error)
}

// FollowUpKey is the key of the follow-up a failed run opens on a
// lane-less monitor task: the task's key, "-FU-" and the terminal
// evidence's id, which keeps it unique; a long task key is cut to leave
// the suffix room within MaxKeyLen.
func FollowUpKey(task, evidence string) string {
	suffix := "-FU-" + strings.TrimPrefix(evidence, "EV-")
	if len(task)+len(suffix) > MaxKeyLen {
		task = strings.TrimRight(task[:MaxKeyLen-len(suffix)], "-")
	}
	return task + suffix
}
