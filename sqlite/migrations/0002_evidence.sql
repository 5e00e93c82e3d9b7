-- Evidence records and claims. Evidence is immutable: the triggers refuse
-- any update or delete, whoever asks.
CREATE TABLE evidence (
    id           TEXT PRIMARY KEY,
    task         TEXT NOT NULL REFERENCES tasks(key),
    kind         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    supersedes   TEXT NOT NULL DEFAULT '',
    record       TEXT NOT NULL
);
CREATE INDEX evidence_task ON evidence (task, recorded_at);
CREATE INDEX evidence_digest ON evidence (digest);

CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is immutable: record new evidence that supersedes it'); END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is immutable: record new evidence that supersedes it'); END;

CREATE TABLE claims (
    id         INTEGER PRIMARY KEY,
    task       TEXT NOT NULL REFERENCES tasks(key),
    text       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    session    TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX claims_task ON claims (task, id);
