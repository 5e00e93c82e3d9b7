-- Who issued each token: the actor whose credential issued it, or, when
-- that credential was itself issued by another actor, that one (so a
-- hand-over cannot be laundered by a rotate); and the id of the bearer
-- credential that issued it, so ending a sign-in ends what it issued.
-- '' when not known. A login link row keeps the issuer of the token it
-- will mint.
ALTER TABLE tokens ADD COLUMN issued_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN issued_with TEXT NOT NULL DEFAULT '';
CREATE INDEX tokens_issued_with ON tokens (issued_with) WHERE issued_with <> '';
-- A review records the actor who issued the token it was made with, when
-- that was not the reviewer: for independence the review is theirs too.
ALTER TABLE reviews ADD COLUMN token_issued_by TEXT NOT NULL DEFAULT '';
-- Tokens issued before this: the audit event that issued each names its
-- hash, and its actor is the issuer.
UPDATE tokens SET issued_by = e.actor
  FROM (SELECT actor, json_extract(change, '$.token_hash') AS h FROM audit_events
        WHERE action IN ('actor.create', 'token.rotate') AND json_valid(change)) AS e
  WHERE tokens.issued_by = '' AND tokens.login = 0 AND e.h = tokens.hash;
