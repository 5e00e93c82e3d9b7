package postgres

import (
	"time"

	"fairway"
)

const sessionColumns = `id, task, actor, actor_kind, provider, host, provider_sessions, tmux_socket, tmux_pane, pid, pid_start,
	dir, base_commit, generation, lease_ttl, lease_until, state, reason, replaces, replaced_by, handoff, attached_at, updated_at, ended_at, credential_expires_at, token_id`

func scanSession(r rowScanner) (*fairway.Session, error) {
	var s fairway.Session
	var providers string
	var pid, ttl, lease, attached, updated, ended, credential int64
	if err := r.Scan(&s.ID, &s.Task, &s.Actor, &s.ActorKind, &s.Provider, &s.Host, &providers, &s.TmuxSocket, &s.TmuxPane, &pid, &s.PIDStart,
		&s.Dir, &s.BaseCommit, &s.Generation, &ttl, &lease, &s.State, &s.Reason, &s.Replaces, &s.ReplacedBy, &s.Handoff, &attached, &updated, &ended, &credential, &s.TokenID); err != nil {
		return nil, err
	}
	var err error
	if s.ProviderSessions, err = decodeList(providers); err != nil {
		return nil, err
	}
	s.PID = int(pid)
	s.LeaseTTL = time.Duration(ttl)
	s.LeaseUntil, s.AttachedAt, s.UpdatedAt, s.EndedAt = fromNanos(lease), fromNanos(attached), fromNanos(updated), fromNanos(ended)
	s.CredentialExpiresAt = fromNanos(credential)
	return &s, nil
}

// InsertSession stores a new session and the hash of its credential.
func (t *tx) InsertSession(s *fairway.Session, tokenHash string) error {
	tag, err := t.exec(`INSERT INTO sessions (`+sessionColumns+`, token_hash)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27) ON CONFLICT DO NOTHING`,
		s.ID, s.Task, s.Actor, s.ActorKind, s.Provider, s.Host, encodeList(s.ProviderSessions), s.TmuxSocket, s.TmuxPane, int64(s.PID), s.PIDStart,
		s.Dir, s.BaseCommit, s.Generation, int64(s.LeaseTTL), nanos(s.LeaseUntil), s.State, s.Reason, s.Replaces, s.ReplacedBy, s.Handoff,
		nanos(s.AttachedAt), nanos(s.UpdatedAt), nanos(s.EndedAt), nanos(s.CredentialExpiresAt), s.TokenID, tokenHash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "session %s or generation %d of task %s already exists", s.ID, s.Generation, s.Task)
	}
	return t.index(fairway.HandoffSearchDoc(s))
}

// UpdateSession stores a session's lease, state, links, handoff,
// provider session ids and credential expiry.
func (t *tx) UpdateSession(s *fairway.Session) error {
	tag, err := t.exec(`UPDATE sessions SET provider_sessions = $1, lease_until = $2, state = $3, reason = $4, replaced_by = $5, handoff = $6, updated_at = $7, ended_at = $8, credential_expires_at = $9 WHERE id = $10`,
		encodeList(s.ProviderSessions), nanos(s.LeaseUntil), s.State, s.Reason, s.ReplacedBy, s.Handoff, nanos(s.UpdatedAt), nanos(s.EndedAt), nanos(s.CredentialExpiresAt), s.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("session", s.ID)
	}
	return t.index(fairway.HandoffSearchDoc(s))
}

// RenewSessionLease stores a heartbeat's lease end and update time,
// with no search re-index: nothing searchable changed.
func (t *tx) RenewSessionLease(id string, leaseUntil, updatedAt time.Time) error {
	tag, err := t.exec(`UPDATE sessions SET lease_until = $1, updated_at = $2 WHERE id = $3`, nanos(leaseUntil), nanos(updatedAt), id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("session", id)
	}
	return nil
}

// Session returns one session.
func (t *tx) Session(id string) (*fairway.Session, error) {
	s, err := scanSession(t.queryRow(`SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, notFound("session", id)
	}
	return s, mapErr(err)
}

// SessionByTokenHash finds the session a credential belongs to.
func (t *tx) SessionByTokenHash(hash string) (*fairway.Session, error) {
	s, err := scanSession(t.queryRow(`SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash))
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
	return collect(t, scanSession, `SELECT `+sessionColumns+` FROM sessions
		WHERE ($1 = '' OR task = $1) AND ($2 = '' OR actor = $2) AND ($3 = '' OR state = $3) AND ($4::BIGINT = 0 OR lease_until < $4::BIGINT) AND ($5 = '' OR token_id = $5)
		ORDER BY attached_at, id`, f.Task, f.Actor, f.State, before, f.TokenID)
}

// MaxSessionGeneration returns the highest generation of a task's
// sessions.
func (t *tx) MaxSessionGeneration(task string) (int64, error) {
	var n int64
	err := t.queryRow(`SELECT COALESCE(MAX(generation), 0) FROM sessions WHERE task = $1`, task).Scan(&n)
	return n, mapErr(err)
}

// InsertObservation stores an observation and sets its ID.
func (t *tx) InsertObservation(o *fairway.Observation) error {
	var code *int64
	if o.ExitCode != nil {
		c := int64(*o.ExitCode)
		code = &c
	}
	return t.queryRow(`INSERT INTO session_observations (session, at, source, detail, exit_code) VALUES ($1,$2,$3,$4,$5) RETURNING id`,
		o.Session, nanos(o.At), o.Source, o.Detail, code).Scan(&o.ID)
}

func scanObservation(r rowScanner) (*fairway.Observation, error) {
	var o fairway.Observation
	var at int64
	var code *int64
	if err := r.Scan(&o.ID, &o.Session, &at, &o.Source, &o.Detail, &code); err != nil {
		return nil, err
	}
	o.At = fromNanos(at)
	if code != nil {
		c := int(*code)
		o.ExitCode = &c
	}
	return &o, nil
}

// Observations lists a session's observations, newest first.
func (t *tx) Observations(session string, limit int) ([]*fairway.Observation, error) {
	return collect(t, scanObservation, `SELECT id, session, at, source, detail, exit_code FROM session_observations
		WHERE session = $1 ORDER BY id DESC LIMIT $2`, session, limit)
}
