-- Full-text search over tasks (title and scope), claims, handoffs and
-- evidence metadata. search_docs holds each record's text (fairway's
-- SearchDoc), written in the transaction that writes the record; its
-- tsvector is generated from the text's runs of letters and digits, the
-- same words fairway.SearchTerms makes of a query, under the 'simple'
-- configuration (no stemming, as on SQLite), with a GIN index.
CREATE TABLE search_docs (
    kind  TEXT NOT NULL,
    id    TEXT NOT NULL,
    task  TEXT NOT NULL,
    body  TEXT NOT NULL,
    tsv   tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g'))) STORED,
    PRIMARY KEY (kind, id)
);
CREATE INDEX search_docs_task ON search_docs (task);
CREATE INDEX search_docs_tsv ON search_docs USING GIN (tsv);

-- Index what a ledger already holds, exactly as fairway.TaskSearchDoc
-- and its siblings build it: the non-empty parts, one a line.
INSERT INTO search_docs (kind, id, task, body)
SELECT 'task', key, key, concat_ws(E'\n',
    NULLIF(title, ''), NULLIF(scope::jsonb->>'text', ''),
    (SELECT string_agg(v, ' ') FROM jsonb_array_elements_text(COALESCE(scope::jsonb->'surfaces', '[]')) v),
    (SELECT string_agg(v, ' ') FROM jsonb_array_elements_text(COALESCE(scope::jsonb->'change_classes', '[]')) v),
    (SELECT string_agg(v, ' ') FROM jsonb_array_elements_text(COALESCE(scope::jsonb->'contracts', '[]')) v),
    (SELECT string_agg(v, ' ') FROM jsonb_array_elements_text(COALESCE(scope::jsonb->'paths', '[]')) v))
FROM tasks;
INSERT INTO search_docs (kind, id, task, body)
SELECT 'evidence', id, task, concat_ws(E'\n', kind, NULLIF(record::jsonb->>'filename', ''), NULLIF(record::jsonb->>'note', ''))
FROM evidence;
INSERT INTO search_docs (kind, id, task, body) SELECT 'claim', id::text, task, text FROM claims WHERE text <> '';
INSERT INTO search_docs (kind, id, task, body) SELECT 'handoff', id, task, handoff FROM sessions WHERE handoff <> '';
