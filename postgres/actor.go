package postgres

import (
	"time"

	"fairway"
)

const actorColumns = `a.name, a.kind, a.display_name, a.created_at, a.created_by, a.disabled_at, a.disabled_by, a.disabled_reason, a.oidc_issuer, a.oidc_subject`

func scanActor(r rowScanner) (*fairway.Actor, error) {
	var a fairway.Actor
	var created, disabled int64
	if err := r.Scan(&a.Name, &a.Kind, &a.DisplayName, &created, &a.CreatedBy, &disabled, &a.DisabledBy, &a.DisabledReason, &a.Issuer, &a.Subject); err != nil {
		return nil, err
	}
	a.CreatedAt = fromNanos(created)
	if disabled != 0 {
		a.DisabledAt = fromNanos(disabled)
	}
	return &a, nil
}

// InsertActor stores a new actor.
func (t *tx) InsertActor(a *fairway.Actor) error {
	tag, err := t.exec(`INSERT INTO actors (name, kind, display_name, created_at, created_by, oidc_issuer, oidc_subject)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		a.Name, a.Kind, a.DisplayName, nanos(a.CreatedAt), a.CreatedBy, a.Issuer, a.Subject)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "actor %q already exists", a.Name)
	}
	return nil
}

// UpdateActor stores an actor's disabled state and identity binding. A
// taken identity is checked first: a unique violation would abort the
// whole transaction in PostgreSQL.
func (t *tx) UpdateActor(a *fairway.Actor) error {
	if a.Subject != "" {
		if other, err := t.ActorByIdentity(a.Issuer, a.Subject); err == nil && other.Name != a.Name {
			return fairway.Errorf(fairway.ECONFLICT, "the identity %s at %s is already bound to another actor", a.Subject, a.Issuer)
		} else if err != nil && fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return err
		}
	}
	var disabled int64
	if !a.DisabledAt.IsZero() {
		disabled = nanos(a.DisabledAt)
	}
	tag, err := t.exec(`UPDATE actors SET disabled_at = $1, disabled_by = $2, disabled_reason = $3, oidc_issuer = $4, oidc_subject = $5 WHERE name = $6`,
		disabled, a.DisabledBy, a.DisabledReason, a.Issuer, a.Subject, a.Name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("actor", a.Name)
	}
	return nil
}

// Actor returns one actor.
func (t *tx) Actor(name string) (*fairway.Actor, error) {
	a, err := scanActor(t.queryRow(`SELECT `+actorColumns+` FROM actors a WHERE a.name = $1`, name))
	if isNoRows(err) {
		return nil, notFound("actor", name)
	}
	return a, err
}

// ActorByIdentity finds the actor bound to an issuer and subject.
func (t *tx) ActorByIdentity(issuer, subject string) (*fairway.Actor, error) {
	a, err := scanActor(t.queryRow(`SELECT `+actorColumns+` FROM actors a WHERE a.oidc_issuer = $1 AND a.oidc_subject = $2`, issuer, subject))
	if isNoRows(err) {
		return nil, notFound("identity", subject)
	}
	return a, err
}

// Actors lists actors by name.
func (t *tx) Actors() ([]*fairway.Actor, error) {
	return collect(t, scanActor, `SELECT `+actorColumns+` FROM actors a ORDER BY a.name`)
}

// CountActors counts actors.
func (t *tx) CountActors() (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM actors`).Scan(&n)
	return n, err
}

// InsertToken stores the hash of a bearer token and what is known of it.
func (t *tx) InsertToken(hash string, k *fairway.Token) error {
	k.ID = fairway.TokenID(hash)
	created, expires, fromLink := k.TokenRow()
	_, err := t.exec(`INSERT INTO tokens (hash, id, actor, created_at, expires_at, from_link, issued_by, issued_with) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		hash, k.ID, k.Actor, created, expires, fromLink, k.IssuedBy, k.IssuedWith)
	return mapErr(err)
}

// RevokeTokens revokes an actor's live tokens and counts them.
func (t *tx) RevokeTokens(actor string, at time.Time) (int, error) {
	tag, err := t.exec(`UPDATE tokens SET revoked_at = $1 WHERE actor = $2 AND revoked_at = 0`, nanos(at), actor)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// RevokeToken revokes one live bearer token.
func (t *tx) RevokeToken(id string, at time.Time) error {
	tag, err := t.exec(`UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0 AND login = 0`, nanos(at), id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("token", id)
	}
	return nil
}

// ActorByTokenHash finds the actor a live token belongs to, and the token.
func (t *tx) ActorByTokenHash(hash string) (*fairway.Actor, *fairway.Token, error) {
	var a fairway.Actor
	var created, disabled int64
	row := t.queryRow(`SELECT `+actorColumns+`, `+fairway.TokenColumns+`
		FROM tokens k JOIN actors a ON a.name = k.actor WHERE k.hash = $1 AND k.revoked_at = 0 AND k.login = 0`, hash)
	k, err := fairway.ScanToken(func(dest ...any) error {
		return row.Scan(append([]any{&a.Name, &a.Kind, &a.DisplayName, &created, &a.CreatedBy, &disabled, &a.DisabledBy, &a.DisabledReason, &a.Issuer, &a.Subject}, dest...)...)
	})
	if isNoRows(err) {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the token is not known or was revoked; ask an administrator for one with `fairway token rotate NAME`")
	} else if err != nil {
		return nil, nil, mapErr(err)
	}
	a.CreatedAt, a.DisabledAt = fromNanos(created), fromNanos(disabled)
	return &a, k, nil
}

// Token returns a bearer token by id, revoked or not.
func (t *tx) Token(id string) (*fairway.Token, error) {
	k, err := fairway.ScanToken(t.queryRow(`SELECT `+fairway.TokenColumns+` FROM tokens k WHERE k.id = $1 AND k.login = 0`, id).Scan)
	if isNoRows(err) {
		return nil, notFound("token", id)
	}
	return k, mapErr(err)
}

// Tokens lists an actor's bearer tokens not revoked, oldest first.
func (t *tx) Tokens(actor string) ([]*fairway.Token, error) {
	return t.liveTokensWhere(`k.actor = $1`, actor)
}

// TokensIssuedWith lists the live bearer tokens a credential issued.
func (t *tx) TokensIssuedWith(id string) ([]*fairway.Token, error) {
	return t.liveTokensWhere(`k.issued_with = $1`, id)
}

// liveTokensWhere lists the bearer tokens not revoked that match cond,
// oldest first.
func (t *tx) liveTokensWhere(cond string, arg any) ([]*fairway.Token, error) {
	rows, err := t.query(`SELECT `+fairway.TokenColumns+` FROM tokens k WHERE `+cond+` AND k.revoked_at = 0 AND k.login = 0 ORDER BY k.created_at, k.id`, arg)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*fairway.Token
	for rows.Next() {
		k, err := fairway.ScanToken(rows.Scan)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
}

// LiveTokens maps the hash of each of an actor's tokens not revoked to
// its expiry.
func (t *tx) LiveTokens(actor string) (map[string]time.Time, error) {
	rows, err := t.query(`SELECT hash, expires_at FROM tokens WHERE actor = $1 AND revoked_at = 0 AND login = 0`, actor)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var hash string
		var expires int64
		if err := rows.Scan(&hash, &expires); err != nil {
			return nil, mapErr(err)
		}
		out[hash] = time.Time{}
		if expires != 0 {
			out[hash] = fromNanos(expires)
		}
	}
	return out, mapErr(rows.Err())
}

// InsertLoginLink stores the hash of a one-time login link of an actor,
// made at at, and the life of the token it mints.
func (t *tx) InsertLoginLink(hash, actor, issuedBy string, at, expires time.Time, tokenTTL time.Duration) error {
	_, err := t.exec(`INSERT INTO tokens (hash, id, actor, created_at, login, expires_at, token_ttl, issued_by) VALUES ($1, $2, $3, $4, 1, $5, $6, $7)`,
		hash, fairway.TokenID(hash), actor, nanos(at), nanos(expires), int64(tokenTTL), issuedBy)
	return err
}

// UseLoginLink spends a login link: it must be known, unused and not
// expired at at; it is then revoked, and its actor and the life of the
// token it mints returned.
func (t *tx) UseLoginLink(hash string, at time.Time) (*fairway.Actor, time.Duration, string, error) {
	var actor, issuedBy string
	var expires, ttl int64
	err := t.queryRow(`SELECT actor, expires_at, token_ttl, issued_by FROM tokens WHERE hash = $1 AND login = 1 AND revoked_at = 0 FOR UPDATE`, hash).Scan(&actor, &expires, &ttl, &issuedBy)
	if isNoRows(err) {
		return nil, 0, "", fairway.Errorf(fairway.EUNAUTHORIZED, "this login link is unknown or was used already; ask for a new one with `fairway portal login-link`")
	} else if err != nil {
		return nil, 0, "", mapErr(err)
	}
	if expires <= nanos(at) {
		return nil, 0, "", fairway.Errorf(fairway.EUNAUTHORIZED, "this login link expired at %s; ask for a new one with `fairway portal login-link`", fromNanos(expires).UTC().Format(time.RFC3339))
	}
	if _, err := t.exec(`UPDATE tokens SET revoked_at = $1 WHERE hash = $2`, nanos(at), hash); err != nil {
		return nil, 0, "", err
	}
	a, err := t.Actor(actor)
	return a, time.Duration(ttl), issuedBy, err
}
