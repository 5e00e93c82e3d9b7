-- Identity: actors can be disabled, tokens revoked, and an actor is bound
-- to the identity provider's issuer and subject on first sign-in.
ALTER TABLE actors ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE actors ADD COLUMN disabled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE actors ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE actors ADD COLUMN oidc_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE actors ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX actors_oidc_identity ON actors (oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

ALTER TABLE tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tokens_actor ON tokens (actor);
