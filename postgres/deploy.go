package postgres

import (
	"encoding/json"

	"fairway"
)

const deployColumns = `id, task, environment, class, protected, source, artifacts, stages, state, no_rollback, follow_ups, started_by, started_at, finished_at`

func scanDeployRun(r rowScanner) (*fairway.DeployRun, error) {
	var d fairway.DeployRun
	var artifacts, stages, noRollback, followUps string
	var started, finished int64
	if err := r.Scan(&d.ID, &d.Task, &d.Environment, &d.Class, &d.Protected, &d.Commit, &artifacts, &stages, &d.State, &noRollback,
		&followUps, &d.StartedBy, &started, &finished); err != nil {
		return nil, err
	}
	if err := fairway.DecodeJSONColumns(artifacts, &d.Artifacts, stages, &d.Stages, noRollback, &d.NoRollback, followUps, &d.FollowUps); err != nil {
		return nil, err
	}
	d.StartedAt, d.FinishedAt = fromNanos(started), fromNanos(finished)
	return &d, nil
}

// deployJSON encodes the parts of a run kept as JSON text.
func deployJSON(d *fairway.DeployRun) (artifacts, stages, noRollback, followUps string, err error) {
	var b [4][]byte
	for i, v := range []any{d.Artifacts, d.Stages, d.NoRollback, d.FollowUps} {
		if b[i], err = json.Marshal(v); err != nil {
			return "", "", "", "", err
		}
	}
	return string(b[0]), string(b[1]), string(b[2]), string(b[3]), nil
}

// InsertDeployRun stores a new run and sets its ID.
func (t *tx) InsertDeployRun(d *fairway.DeployRun) error {
	artifacts, stages, noRollback, followUps, err := deployJSON(d)
	if err != nil {
		return err
	}
	return t.queryRow(`INSERT INTO deploy_runs (task, environment, class, protected, source, artifacts, stages, state, no_rollback, follow_ups, started_by, started_at, finished_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id`,
		d.Task, d.Environment, d.Class, d.Protected, d.Commit, artifacts, stages, d.State, noRollback, followUps, d.StartedBy, nanos(d.StartedAt), nanos(d.FinishedAt)).Scan(&d.ID)
}

// UpdateDeployRun stores a run's stages, state, decision and follow-ups.
func (t *tx) UpdateDeployRun(d *fairway.DeployRun) error {
	_, stages, noRollback, followUps, err := deployJSON(d)
	if err != nil {
		return err
	}
	tag, err := t.exec(`UPDATE deploy_runs SET stages = $1, state = $2, no_rollback = $3, follow_ups = $4, finished_at = $5 WHERE id = $6`,
		stages, d.State, noRollback, followUps, nanos(d.FinishedAt), d.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "deploy-run %d not found", d.ID)
	}
	return nil
}

// DeployRun returns one run.
func (t *tx) DeployRun(id int64) (*fairway.DeployRun, error) {
	d, err := scanDeployRun(t.queryRow(`SELECT `+deployColumns+` FROM deploy_runs WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "deploy-run %d not found; list runs with `fairway deploy list`", id)
	}
	return d, err
}

// DeployRuns lists runs by task and environment, oldest first.
func (t *tx) DeployRuns(f fairway.DeployFilter) ([]*fairway.DeployRun, error) {
	return collect(t, scanDeployRun, `SELECT `+deployColumns+` FROM deploy_runs
		WHERE ($1 = '' OR task = $1) AND ($2 = '' OR environment = $2) ORDER BY id`, f.Task, f.Environment)
}
