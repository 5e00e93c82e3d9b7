-- Scope records: checks of a change against its task's declared scope
-- (the paths changed, those outside it, the layers owning them, the
-- review domains added to the gate) and humans' acknowledgements of
-- outside paths. Never updated.
CREATE TABLE scope_records (
    id       INTEGER PRIMARY KEY,
    task     TEXT NOT NULL REFERENCES tasks(key),
    kind     TEXT NOT NULL,
    session  TEXT NOT NULL DEFAULT '',
    base     TEXT NOT NULL DEFAULT '',
    paths    TEXT NOT NULL,
    outside  TEXT NOT NULL DEFAULT '[]',
    layers   TEXT NOT NULL DEFAULT '{}',
    domains  TEXT NOT NULL DEFAULT '[]',
    note     TEXT NOT NULL DEFAULT '',
    by_actor TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX scope_records_task ON scope_records (task, id);
CREATE TRIGGER scope_records_no_update BEFORE UPDATE ON scope_records
BEGIN SELECT RAISE(ABORT, 'scope records are immutable: record a new check or acknowledgement'); END;
CREATE TRIGGER scope_records_no_delete BEFORE DELETE ON scope_records
BEGIN SELECT RAISE(ABORT, 'scope records are immutable: record a new check or acknowledgement'); END;
