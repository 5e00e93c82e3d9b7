-- Full-text search over tasks (title and scope), claims, handoffs and
-- evidence metadata. search_docs holds each record's text (fairway's
-- SearchDoc); search_fts is an FTS5 index over it, kept in step by
-- triggers, so a write and its index change share one transaction.
CREATE TABLE search_docs (
    rowid INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    id    TEXT NOT NULL,
    task  TEXT NOT NULL,
    body  TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX search_docs_task ON search_docs (task);

CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_docs', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO search_fts (rowid, body) VALUES (new.rowid, new.body);
END;

-- Index what a ledger already holds, exactly as fairway.TaskSearchDoc
-- and its siblings build it: the non-empty parts, one a line.
INSERT INTO search_docs (kind, id, task, body)
SELECT 'task', key, key, title
    || coalesce(char(10) || nullif(json_extract(scope, '$.text'), ''), '')
    || coalesce(char(10) || (SELECT group_concat(value, ' ') FROM json_each(scope, '$.surfaces')), '')
    || coalesce(char(10) || (SELECT group_concat(value, ' ') FROM json_each(scope, '$.change_classes')), '')
    || coalesce(char(10) || (SELECT group_concat(value, ' ') FROM json_each(scope, '$.contracts')), '')
    || coalesce(char(10) || (SELECT group_concat(value, ' ') FROM json_each(scope, '$.paths')), '')
FROM tasks;
INSERT INTO search_docs (kind, id, task, body)
SELECT 'evidence', id, task, kind
    || coalesce(char(10) || nullif(json_extract(record, '$.filename'), ''), '')
    || coalesce(char(10) || nullif(json_extract(record, '$.note'), ''), '')
FROM evidence;
INSERT INTO search_docs (kind, id, task, body) SELECT 'claim', CAST(id AS TEXT), task, text FROM claims WHERE text <> '';
INSERT INTO search_docs (kind, id, task, body) SELECT 'handoff', id, task, handoff FROM sessions WHERE handoff <> '';
