-- Ledger core: actors and their tokens, lanes, tasks, dependencies, audit.
CREATE TABLE actors (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    actor      TEXT NOT NULL REFERENCES actors(name),
    created_at INTEGER NOT NULL
);

CREATE TABLE lanes (
    name        TEXT PRIMARY KEY,
    key_prefix  TEXT UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    next_seq    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tasks (
    key              TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    scope            TEXT NOT NULL,
    lane             TEXT NOT NULL DEFAULT '',
    owner            TEXT NOT NULL DEFAULT '',
    creator          TEXT NOT NULL,
    status           TEXT NOT NULL,
    wait_reason      TEXT NOT NULL DEFAULT '',
    risk             TEXT NOT NULL,
    risk_rank        INTEGER NOT NULL,
    priority         INTEGER NOT NULL,
    review_domains   TEXT NOT NULL DEFAULT '',
    mutating         INTEGER NOT NULL DEFAULT 0,
    labels           TEXT NOT NULL DEFAULT '',
    cancel_reason    TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    closed_at        INTEGER NOT NULL DEFAULT 0,
    -- pending_blockers counts blockers not yet done, kept up to date on
    -- every dependency and status change so that "next" reads an index.
    pending_blockers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_ready ON tasks (status, pending_blockers, priority, risk_rank DESC, created_at, key);
CREATE INDEX tasks_lane_ready ON tasks (lane, status, pending_blockers, priority, risk_rank DESC, created_at, key);
CREATE INDEX tasks_owner ON tasks (owner);

CREATE TABLE dependencies (
    blocked TEXT NOT NULL REFERENCES tasks(key),
    blocker TEXT NOT NULL REFERENCES tasks(key),
    PRIMARY KEY (blocked, blocker)
) WITHOUT ROWID;
CREATE INDEX dependencies_blocker ON dependencies (blocker, blocked);

CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    change     TEXT NOT NULL,
    prev       TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject, seq);

-- The head lives apart from the events so that deleting the log's tail is
-- seen by verification.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
