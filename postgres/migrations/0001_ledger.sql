-- Ledger core: actors and their tokens, lanes, tasks, dependencies, audit.
-- Times are Unix nanoseconds, as in the SQLite store, so they round-trip
-- exactly; names and keys sort by bytes (COLLATE "C"), as in SQLite,
-- whatever the database's locale.
CREATE TABLE actors (
    name         TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    actor      TEXT NOT NULL REFERENCES actors(name),
    created_at BIGINT NOT NULL
);

CREATE TABLE lanes (
    name        TEXT COLLATE "C" PRIMARY KEY,
    key_prefix  TEXT UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    next_seq    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tasks (
    key              TEXT COLLATE "C" PRIMARY KEY,
    title            TEXT NOT NULL,
    scope            TEXT NOT NULL,
    lane             TEXT NOT NULL DEFAULT '',
    owner            TEXT NOT NULL DEFAULT '',
    creator          TEXT NOT NULL,
    status           TEXT NOT NULL,
    wait_reason      TEXT COLLATE "C" NOT NULL DEFAULT '',
    risk             TEXT NOT NULL,
    risk_rank        INTEGER NOT NULL,
    priority         INTEGER NOT NULL,
    review_domains   TEXT NOT NULL DEFAULT '',
    mutating         BOOLEAN NOT NULL DEFAULT FALSE,
    labels           TEXT NOT NULL DEFAULT '',
    cancel_reason    TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    closed_at        BIGINT NOT NULL DEFAULT 0,
    -- pending_blockers counts blockers not yet done, kept up to date on
    -- every dependency and status change so that "next" reads an index.
    pending_blockers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_ready ON tasks (status, pending_blockers, priority, risk_rank DESC, created_at, key);
CREATE INDEX tasks_lane_ready ON tasks (lane, status, pending_blockers, priority, risk_rank DESC, created_at, key);
CREATE INDEX tasks_owner ON tasks (owner);

CREATE TABLE dependencies (
    blocked TEXT COLLATE "C" NOT NULL REFERENCES tasks(key),
    blocker TEXT COLLATE "C" NOT NULL REFERENCES tasks(key),
    PRIMARY KEY (blocked, blocker)
);
CREATE INDEX dependencies_blocker ON dependencies (blocker, blocked);

-- change is TEXT, not JSONB: the event hash covers its exact bytes.
CREATE TABLE audit_events (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
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
-- seen by verification. Its one row is also what writers lock.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- Audit events are never edited: the database refuses, whoever asks.
CREATE FUNCTION fairway_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_events_immutable BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION fairway_refuse_change('audit events are immutable: the log is append-only');
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION fairway_refuse_change('audit events are immutable: the log is append-only');
