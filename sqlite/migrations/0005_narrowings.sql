-- Narrowings: proposed edits that remove requirements from a task's gate,
-- applied only once every losing domain approved.
CREATE TABLE narrowings (
    id          INTEGER PRIMARY KEY,
    task        TEXT NOT NULL REFERENCES tasks(key),
    edit        TEXT NOT NULL,
    removes     TEXT NOT NULL,
    approvals   TEXT NOT NULL DEFAULT '[]',
    proposed_by TEXT NOT NULL,
    proposed_at INTEGER NOT NULL,
    base        INTEGER NOT NULL,
    state       TEXT NOT NULL,
    applied_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX narrowings_task ON narrowings (task, id);
