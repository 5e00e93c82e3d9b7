-- Deploy-runs: a task's change deployed to an environment, its stages
-- (with their evidence and who moved them) kept whole with the run.
CREATE TABLE deploy_runs (
    id          INTEGER PRIMARY KEY,
    task        TEXT NOT NULL REFERENCES tasks(key),
    environment TEXT NOT NULL,
    class       TEXT NOT NULL,
    protected   INTEGER NOT NULL,
    source      TEXT NOT NULL,
    artifacts   TEXT NOT NULL DEFAULT '[]',
    stages      TEXT NOT NULL,
    state       TEXT NOT NULL,
    no_rollback TEXT NOT NULL DEFAULT 'null',
    follow_ups  TEXT NOT NULL DEFAULT '[]',
    started_by  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deploy_runs_task ON deploy_runs (task, environment, id);
