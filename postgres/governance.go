package postgres

import (
	"encoding/json"
	"fmt"

	"fairway"
)

// InsertReview stores a verdict and sets its ID.
func (t *tx) InsertReview(r *fairway.Review) error {
	var mfa string
	if r.MFA != nil {
		b, err := json.Marshal(r.MFA)
		if err != nil {
			return err
		}
		mfa = string(b)
	}
	return t.queryRow(`INSERT INTO reviews (task, domain, reviewer, reviewer_kind, verdict, items, comment, resolves, snapshot, mfa, at, token_issued_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id`, r.Task, r.Domain, r.Reviewer, r.ReviewerKind, r.Verdict,
		encodeList(r.Items), r.Comment, r.Resolves, r.Snapshot, mfa, nanos(r.At), r.TokenIssuedBy).Scan(&r.ID)
}

func scanReview(row rowScanner) (*fairway.Review, error) {
	var r fairway.Review
	var items, mfa string
	var at int64
	if err := row.Scan(&r.ID, &r.Task, &r.Domain, &r.Reviewer, &r.ReviewerKind, &r.Verdict, &items, &r.Comment, &r.Resolves, &r.Snapshot, &mfa, &at, &r.TokenIssuedBy); err != nil {
		return nil, err
	}
	var err error
	if r.Items, err = decodeList(items); err != nil {
		return nil, fmt.Errorf("review %d: items: %w", r.ID, err)
	}
	if mfa != "" {
		r.MFA = &fairway.MFAPosture{}
		if err := json.Unmarshal([]byte(mfa), r.MFA); err != nil {
			return nil, fmt.Errorf("review %d: mfa: %w", r.ID, err)
		}
	}
	r.At = fromNanos(at)
	return &r, nil
}

// Reviews lists a task's verdicts in order.
func (t *tx) Reviews(task string) ([]*fairway.Review, error) {
	return collect(t, scanReview, `SELECT id, task, domain, reviewer, reviewer_kind, verdict, items, comment, resolves, snapshot, mfa, at, token_issued_by
		FROM reviews WHERE task = $1 ORDER BY id`, task)
}

const waiverColumns = `id, task, lane, requirement, reason, requested_by, requested_at, expires_at, domain, approved_by, approved_at`

func scanWaiver(r rowScanner) (*fairway.Waiver, error) {
	var w fairway.Waiver
	var req, exp, appr int64
	if err := r.Scan(&w.ID, &w.Task, &w.Lane, &w.Requirement, &w.Reason, &w.RequestedBy, &req, &exp, &w.Domain, &w.ApprovedBy, &appr); err != nil {
		return nil, err
	}
	w.RequestedAt, w.ExpiresAt, w.ApprovedAt = fromNanos(req), fromNanos(exp), fromNanos(appr)
	return &w, nil
}

// InsertWaiver stores a waiver request and sets its ID.
func (t *tx) InsertWaiver(w *fairway.Waiver) error {
	return t.queryRow(`INSERT INTO waivers (task, lane, requirement, reason, requested_by, requested_at, expires_at, domain, approved_by, approved_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`, w.Task, w.Lane, w.Requirement, w.Reason, w.RequestedBy,
		nanos(w.RequestedAt), nanos(w.ExpiresAt), w.Domain, w.ApprovedBy, nanos(w.ApprovedAt)).Scan(&w.ID)
}

// UpdateWaiver records a waiver's approval.
func (t *tx) UpdateWaiver(w *fairway.Waiver) error {
	tag, err := t.exec(`UPDATE waivers SET domain = $1, approved_by = $2, approved_at = $3 WHERE id = $4`, w.Domain, w.ApprovedBy, nanos(w.ApprovedAt), w.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "waiver %d not found", w.ID)
	}
	return nil
}

// Waiver returns one waiver.
func (t *tx) Waiver(id int64) (*fairway.Waiver, error) {
	w, err := scanWaiver(t.queryRow(`SELECT `+waiverColumns+` FROM waivers WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "waiver %d not found", id)
	}
	return w, err
}

// Waivers lists the waivers of a task and of a lane.
func (t *tx) Waivers(task, lane string) ([]*fairway.Waiver, error) {
	return collect(t, scanWaiver, `SELECT `+waiverColumns+` FROM waivers
		WHERE ($1 = '' AND $2 = '') OR ($1 <> '' AND task = $1) OR ($2 <> '' AND lane = $2) ORDER BY id`, task, lane)
}

const policyColumns = `id, digest, file, source, state, task, base, proposed_by, proposed_at, activated_at`

func scanPolicy(r rowScanner) (*fairway.PolicyRecord, error) {
	var p fairway.PolicyRecord
	var prop, act int64
	if err := r.Scan(&p.ID, &p.Digest, &p.File, &p.Source, &p.State, &p.Task, &p.Base, &p.ProposedBy, &prop, &act); err != nil {
		return nil, err
	}
	p.ProposedAt, p.ActivatedAt = fromNanos(prop), fromNanos(act)
	return &p, nil
}

// InsertPolicy stores a policy record and sets its ID.
func (t *tx) InsertPolicy(p *fairway.PolicyRecord) error {
	return t.queryRow(`INSERT INTO policies (digest, file, source, state, task, base, proposed_by, proposed_at, activated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`, p.Digest, p.File, p.Source, p.State, p.Task, p.Base, p.ProposedBy,
		nanos(p.ProposedAt), nanos(p.ActivatedAt)).Scan(&p.ID)
}

// UpdatePolicy changes a policy record's state.
func (t *tx) UpdatePolicy(p *fairway.PolicyRecord) error {
	_, err := t.exec(`UPDATE policies SET state = $1, activated_at = $2 WHERE id = $3`, p.State, nanos(p.ActivatedAt), p.ID)
	return err
}

// ActivePolicy returns the policy in force.
func (t *tx) ActivePolicy() (*fairway.PolicyRecord, error) {
	p, err := scanPolicy(t.queryRow(`SELECT ` + policyColumns + ` FROM policies WHERE state = 'active' ORDER BY id DESC LIMIT 1`))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "no governance policy is in force; bootstrap one with `fairway policy apply FILE`")
	}
	return p, err
}

// PolicyProposal returns the latest proposal attached to a task.
func (t *tx) PolicyProposal(task string) (*fairway.PolicyRecord, error) {
	p, err := scanPolicy(t.queryRow(`SELECT `+policyColumns+` FROM policies WHERE task = $1 AND state = 'proposed' ORDER BY id DESC LIMIT 1`, task))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "task %s proposes no policy", task)
	}
	return p, err
}
