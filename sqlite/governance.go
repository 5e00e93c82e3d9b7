package sqlite

import (
	"encoding/json"

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
	res, err := t.exec(`INSERT INTO reviews (task, domain, reviewer, reviewer_kind, verdict, items, comment, resolves, snapshot, mfa, at, token_issued_by)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, r.Task, r.Domain, r.Reviewer, r.ReviewerKind, r.Verdict, encodeList(r.Items), r.Comment,
		r.Resolves, r.Snapshot, mfa, nanos(r.At), r.TokenIssuedBy)
	if err != nil {
		return err
	}
	r.ID, err = res.LastInsertId()
	return err
}

// Reviews lists a task's verdicts in order.
func (t *tx) Reviews(task string) ([]*fairway.Review, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, task, domain, reviewer, reviewer_kind, verdict, items, comment, resolves, snapshot, mfa, at, token_issued_by
		FROM reviews WHERE task = ? ORDER BY id`, task)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Review
	for rows.Next() {
		var r fairway.Review
		var items, mfa string
		var at int64
		if err := rows.Scan(&r.ID, &r.Task, &r.Domain, &r.Reviewer, &r.ReviewerKind, &r.Verdict, &items, &r.Comment, &r.Resolves, &r.Snapshot, &mfa, &at, &r.TokenIssuedBy); err != nil {
			return nil, err
		}
		if r.Items, err = decodeList(items); err != nil {
			return nil, err
		}
		if mfa != "" {
			r.MFA = &fairway.MFAPosture{}
			if err := json.Unmarshal([]byte(mfa), r.MFA); err != nil {
				return nil, err
			}
		}
		r.At = fromNanos(at)
		out = append(out, &r)
	}
	return out, rows.Err()
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
	res, err := t.exec(`INSERT INTO waivers (task, lane, requirement, reason, requested_by, requested_at, expires_at, domain, approved_by, approved_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, w.Task, w.Lane, w.Requirement, w.Reason, w.RequestedBy, nanos(w.RequestedAt), nanos(w.ExpiresAt),
		w.Domain, w.ApprovedBy, nanos(w.ApprovedAt))
	if err != nil {
		return err
	}
	w.ID, err = res.LastInsertId()
	return err
}

// UpdateWaiver records a waiver's approval.
func (t *tx) UpdateWaiver(w *fairway.Waiver) error {
	res, err := t.exec(`UPDATE waivers SET domain = ?, approved_by = ?, approved_at = ? WHERE id = ?`, w.Domain, w.ApprovedBy, nanos(w.ApprovedAt), w.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "waiver %d not found", w.ID)
	}
	return nil
}

// Waiver returns one waiver.
func (t *tx) Waiver(id int64) (*fairway.Waiver, error) {
	w, err := scanWaiver(t.q.QueryRowContext(t.ctx, `SELECT `+waiverColumns+` FROM waivers WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "waiver %d not found", id)
	}
	return w, mapErr(err)
}

// Waivers lists the waivers of a task and of a lane; all of them when
// both are empty.
func (t *tx) Waivers(task, lane string) ([]*fairway.Waiver, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+waiverColumns+` FROM waivers
		WHERE (? = '' AND ? = '') OR (? <> '' AND task = ?) OR (? <> '' AND lane = ?) ORDER BY id`, task, lane, task, task, lane, lane)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Waiver
	for rows.Next() {
		w, err := scanWaiver(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
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
	res, err := t.exec(`INSERT INTO policies (digest, file, source, state, task, base, proposed_by, proposed_at, activated_at) VALUES (?,?,?,?,?,?,?,?,?)`,
		p.Digest, p.File, p.Source, p.State, p.Task, p.Base, p.ProposedBy, nanos(p.ProposedAt), nanos(p.ActivatedAt))
	if err != nil {
		return err
	}
	p.ID, err = res.LastInsertId()
	return err
}

// UpdatePolicy changes a policy record's state.
func (t *tx) UpdatePolicy(p *fairway.PolicyRecord) error {
	_, err := t.exec(`UPDATE policies SET state = ?, activated_at = ? WHERE id = ?`, p.State, nanos(p.ActivatedAt), p.ID)
	return err
}

// ActivePolicy returns the policy in force.
func (t *tx) ActivePolicy() (*fairway.PolicyRecord, error) {
	p, err := scanPolicy(t.q.QueryRowContext(t.ctx, `SELECT `+policyColumns+` FROM policies WHERE state = 'active' ORDER BY id DESC LIMIT 1`))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "no governance policy is in force; bootstrap one with `fairway policy apply FILE`")
	}
	return p, mapErr(err)
}

// PolicyProposal returns the latest proposal attached to a task.
func (t *tx) PolicyProposal(task string) (*fairway.PolicyRecord, error) {
	p, err := scanPolicy(t.q.QueryRowContext(t.ctx, `SELECT `+policyColumns+` FROM policies WHERE task = ? AND state = 'proposed' ORDER BY id DESC LIMIT 1`, task))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "task %s proposes no policy", task)
	}
	return p, mapErr(err)
}
