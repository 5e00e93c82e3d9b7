package postgres

import "fairway"

const actorColumns = `name, kind, display_name, created_at, created_by`

func scanActor(r rowScanner) (*fairway.Actor, error) {
	var a fairway.Actor
	var created int64
	if err := r.Scan(&a.Name, &a.Kind, &a.DisplayName, &created, &a.CreatedBy); err != nil {
		return nil, err
	}
	a.CreatedAt = fromNanos(created)
	return &a, nil
}

// InsertActor stores a new actor.
func (t *tx) InsertActor(a *fairway.Actor) error {
	tag, err := t.exec(`INSERT INTO actors (`+actorColumns+`) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		a.Name, a.Kind, a.DisplayName, nanos(a.CreatedAt), a.CreatedBy)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ECONFLICT, "actor %q already exists", a.Name)
	}
	return nil
}

// Actor returns one actor.
func (t *tx) Actor(name string) (*fairway.Actor, error) {
	a, err := scanActor(t.queryRow(`SELECT `+actorColumns+` FROM actors WHERE name = $1`, name))
	if isNoRows(err) {
		return nil, notFound("actor", name)
	}
	return a, err
}

// Actors lists actors by name.
func (t *tx) Actors() ([]*fairway.Actor, error) {
	return collect(t, scanActor, `SELECT `+actorColumns+` FROM actors ORDER BY name`)
}

// CountActors counts actors.
func (t *tx) CountActors() (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM actors`).Scan(&n)
	return n, err
}

// InsertToken stores the hash of a bearer token.
func (t *tx) InsertToken(hash, actor string) error {
	_, err := t.exec(`INSERT INTO tokens (hash, actor, created_at) VALUES ($1, $2, extract(epoch FROM now())::bigint)`, hash, actor)
	return err
}

// ActorByTokenHash finds the actor a token hash belongs to.
func (t *tx) ActorByTokenHash(hash string) (*fairway.Actor, error) {
	a, err := scanActor(t.queryRow(`SELECT a.name, a.kind, a.display_name, a.created_at, a.created_by
		FROM tokens k JOIN actors a ON a.name = k.actor WHERE k.hash = $1`, hash))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the token is not known; ask an administrator for one with `fairway actor create`")
	}
	return a, err
}
