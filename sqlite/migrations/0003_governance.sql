-- Reviews (immutable verdicts), waivers, governance policies, and who
-- assigned each task's owner (a requester of the work is not independent).
ALTER TABLE tasks ADD COLUMN assigned_by TEXT NOT NULL DEFAULT '';

CREATE TABLE reviews (
    id            INTEGER PRIMARY KEY,
    task          TEXT NOT NULL REFERENCES tasks(key),
    domain        TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    reviewer_kind TEXT NOT NULL,
    verdict       TEXT NOT NULL,
    items         TEXT NOT NULL DEFAULT '',
    comment       TEXT NOT NULL DEFAULT '',
    resolves      INTEGER NOT NULL DEFAULT 0,
    snapshot      TEXT NOT NULL,
    mfa           TEXT NOT NULL DEFAULT '',
    at            INTEGER NOT NULL
);
CREATE INDEX reviews_task ON reviews (task, id);
CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, 'reviews are immutable: record a new verdict'); END;
CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
BEGIN SELECT RAISE(ABORT, 'reviews are immutable: record a new verdict'); END;

CREATE TABLE waivers (
    id           INTEGER PRIMARY KEY,
    task         TEXT NOT NULL DEFAULT '',
    lane         TEXT NOT NULL DEFAULT '',
    requirement  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    domain       TEXT NOT NULL DEFAULT '',
    approved_by  TEXT NOT NULL DEFAULT '',
    approved_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX waivers_task ON waivers (task);
CREATE INDEX waivers_lane ON waivers (lane);

CREATE TABLE policies (
    id           INTEGER PRIMARY KEY,
    digest       TEXT NOT NULL,
    file         TEXT NOT NULL,
    source       TEXT NOT NULL,
    state        TEXT NOT NULL,
    task         TEXT NOT NULL DEFAULT '',
    -- base is the policy in force when this one was proposed.
    base         TEXT NOT NULL DEFAULT '',
    proposed_by  TEXT NOT NULL,
    proposed_at  INTEGER NOT NULL,
    activated_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX policies_state ON policies (state, id);
CREATE INDEX policies_task ON policies (task, id);
