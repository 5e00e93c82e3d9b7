package sqlite

import (
	"database/sql"
	"time"

	"fairway"
)

const sessionColumns = `id, task, actor, actor_kind, provider, host, provider_sessions, tmux_socket, tmux_pane, pid, pid_start,
	dir, base_commit, generation, lease_ttl, lease_until, state, reason, replaces, replaced_by, handoff, attached_at, updated_at, ended_at, credential_expires_at, token_id`

func scanSession(r rowScanner) (*fairway.Session, error) {
	var s fairway.Session
	var providers string
	var ttl, lease, attached, updated, ended, credential int64
	if err := r.Scan(&s.ID, &s.Task, &s.Actor, &s.ActorKind, &s.Provider, &s.Host, &providers, &s.TmuxSocket, &s.TmuxPane, &s.PID, &s.PIDStart,
		&s.Dir, &s.BaseCommit, &s.Generation, &ttl, &lease, &s.State, &s.Reason, &s.Replaces, &s.ReplacedBy, &s.Handoff, &attached, &updated, &ended, &credential, &s.TokenID); err != nil {
		return nil, err
	}
	var err error
	if s.ProviderSessions, err = decodeList(providers); err != nil {
		return nil, err
	}
	s.LeaseTTL = time.Duration(ttl)
	s.LeaseUntil, s.AttachedAt, s.UpdatedAt, s.EndedAt = fromNanos(lease), fromNanos(attached), fromNanos(updated), fromNanos(ended)
	s.CredentialExpiresAt = fromNanos(credential)
	return &s, nil
}

// InsertSession stores a new session and the hash of its credential.
func (t *tx) InsertSession(s *fairway.Session, tokenHash string) error {
	_, err := t.exec(`INSERT INTO sessions (`+sessionColumns+`, token_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		s.ID, s.Task, s.Actor, s.ActorKind, s.Provider, s.Host, encodeList(s.ProviderSessions), s.TmuxSocket, s.TmuxPane, s.PID, s.PIDStart,
		s.Dir, s.BaseCommit, s.Generation, int64(s.LeaseTTL), nanos(s.LeaseUntil), s.State, s.Reason, s.Replaces, s.ReplacedBy, s.Handoff,
		nanos(s.AttachedAt), nanos(s.UpdatedAt), nanos(s.EndedAt), nanos(s.CredentialExpiresAt), s.TokenID, tokenHash)
	if isUniqueViolation(err) {
		return fairway.Errorf(fairway.ECONFLICT, "session %s or generation %d of task %s already exists", s.ID, s.Generation, s.Task)
	}
	if err != nil {
		return err
	}
	return t.index(fairway.HandoffSearchDoc(s))
}

// UpdateSession stores a session's lease, state, links, handoff,
// provider session ids and credential expiry.
func (t *tx) UpdateSession(s *fairway.Session) error {
	res, err := t.exec(`UPDATE sessions SET provider_sessions = ?, lease_until = ?, state = ?, reason = ?, replaced_by = ?, handoff = ?, updated_at = ?, ended_at = ?, credential_expires_at = ? WHERE id = ?`,
		encodeList(s.ProviderSessions), nanos(s.LeaseUntil), s.State, s.Reason, s.ReplacedBy, s.Handoff, nanos(s.UpdatedAt), nanos(s.EndedAt), nanos(s.CredentialExpiresAt), s.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("session", s.ID)
	}
	return t.index(fairway.HandoffSearchDoc(s))
}

// RenewSessionLease stores a heartbeat's lease end and update time,
// with no search re-index: nothing searchable changed.
func (t *tx) RenewSessionLease(id string, leaseUntil, updatedAt time.Time) error {
	res, err := t.exec(`UPDATE sessions SET lease_until = ?, updated_at = ? WHERE id = ?`, nanos(leaseUntil), nanos(updatedAt), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("session", id)
	}
	return nil
}

// Session returns one session.
func (t *tx) Session(id string) (*fairway.Session, error) {
	s, err := scanSession(t.q.QueryRowContext(t.ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, notFound("session", id)
	}
	return s, mapErr(err)
}

// SessionByTokenHash finds the session a credential belongs to.
func (t *tx) SessionByTokenHash(hash string) (*fairway.Session, error) {
	s, err := scanSession(t.q.QueryRowContext(t.ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, hash))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the session credential is not known; attach a session with `fairway session attach`")
	}
	return s, mapErr(err)
}

// Sessions lists sessions oldest first.
func (t *tx) Sessions(f fairway.SessionFilter) ([]*fairway.Session, error) {
	var before int64
	if !f.LeaseBefore.IsZero() {
		before = nanos(f.LeaseBefore)
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE (? = '' OR task = ?) AND (? = '' OR actor = ?) AND (? = '' OR state = ?) AND (? = 0 OR lease_until < ?) AND (? = '' OR token_id = ?)
		ORDER BY attached_at, id`, f.Task, f.Task, f.Actor, f.Actor, f.State, f.State, before, before, f.TokenID, f.TokenID)
	if err != nil {
		return nil, mapErr(err)
	}
	return collectSessions(rows)
}

func collectSessions(rows *sql.Rows) ([]*fairway.Session, error) {
	defer rows.Close()
	var out []*fairway.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// MaxSessionGeneration returns the highest generation of a task's
// sessions.
func (t *tx) MaxSessionGeneration(task string) (int64, error) {
	var n int64
	err := t.q.QueryRowContext(t.ctx, `SELECT COALESCE(MAX(generation), 0) FROM sessions WHERE task = ?`, task).Scan(&n)
	return n, mapErr(err)
}

// InsertObservation stores an observation and sets its ID.
func (t *tx) InsertObservation(o *fairway.Observation) error {
	var code any
	if o.ExitCode != nil {
		code = *o.ExitCode
	}
	res, err := t.exec(`INSERT INTO session_observations (session, at, source, detail, exit_code) VALUES (?,?,?,?,?)`,
		o.Session, nanos(o.At), o.Source, o.Detail, code)
	if err != nil {
		return err
	}
	o.ID, err = res.LastInsertId()
	return err
}

// Observations lists a session's observations, newest first.
func (t *tx) Observations(session string, limit int) ([]*fairway.Observation, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT id, session, at, source, detail, exit_code FROM session_observations
		WHERE session = ? ORDER BY id DESC LIMIT ?`, session, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Observation
	for rows.Next() {
		var o fairway.Observation
		var at int64
		var code sql.NullInt64
		if err := rows.Scan(&o.ID, &o.Session, &at, &o.Source, &o.Detail, &code); err != nil {
			return nil, err
		}
		o.At = fromNanos(at)
		if code.Valid {
			c := int(code.Int64)
			o.ExitCode = &c
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}
