-- Sessions: provider sessions attached to tasks, with a lease, a
-- generation that fences writes, and the hash of their credential.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    task              TEXT NOT NULL REFERENCES tasks(key),
    actor             TEXT NOT NULL REFERENCES actors(name),
    actor_kind        TEXT NOT NULL,
    provider          TEXT NOT NULL,
    host              TEXT NOT NULL DEFAULT '',
    provider_sessions TEXT NOT NULL DEFAULT '',
    tmux_socket       TEXT NOT NULL DEFAULT '',
    tmux_pane         TEXT NOT NULL DEFAULT '',
    pid               INTEGER NOT NULL DEFAULT 0,
    pid_start         TEXT NOT NULL DEFAULT '',
    dir               TEXT NOT NULL DEFAULT '',
    base_commit       TEXT NOT NULL DEFAULT '',
    generation        INTEGER NOT NULL,
    lease_ttl         INTEGER NOT NULL,
    lease_until       INTEGER NOT NULL,
    state             TEXT NOT NULL,
    reason            TEXT NOT NULL DEFAULT '',
    replaces          TEXT NOT NULL DEFAULT '',
    replaced_by       TEXT NOT NULL DEFAULT '',
    handoff           TEXT NOT NULL DEFAULT '',
    attached_at       INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    ended_at          INTEGER NOT NULL DEFAULT 0,
    token_hash        TEXT NOT NULL UNIQUE,
    UNIQUE (task, generation)
);
CREATE INDEX sessions_task ON sessions (task, attached_at);
CREATE INDEX sessions_state_lease ON sessions (state, lease_until);

CREATE TABLE session_observations (
    id        INTEGER PRIMARY KEY,
    session   TEXT NOT NULL REFERENCES sessions(id),
    at        INTEGER NOT NULL,
    source    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    exit_code INTEGER
);
CREATE INDEX session_observations_session ON session_observations (session, id);
