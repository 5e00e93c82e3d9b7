-- Evidence records and claims. Evidence is immutable: the triggers refuse
-- any update or delete, whoever asks.
CREATE TABLE evidence (
    id           TEXT PRIMARY KEY,
    task         TEXT NOT NULL REFERENCES tasks(key),
    kind         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL,
    supersedes   TEXT NOT NULL DEFAULT '',
    record       TEXT NOT NULL
);
CREATE INDEX evidence_task ON evidence (task, recorded_at);
CREATE INDEX evidence_kind ON evidence (task, kind, recorded_at);
CREATE INDEX evidence_recorder ON evidence (task, recorded_by);
CREATE INDEX evidence_supersedes ON evidence (supersedes);
CREATE INDEX evidence_digest ON evidence (digest);

-- Each task keeps a hash chain over its proof evidence, so a gate can
-- bind approvals to "all the evidence so far" without reading it all.
ALTER TABLE tasks ADD COLUMN proof_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN proof_chain TEXT NOT NULL DEFAULT '';

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
