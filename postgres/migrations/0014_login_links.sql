-- Login links: a token that signs a person into the portal once, until it
-- expires. It is kept hashed like every token and is never a bearer token.
ALTER TABLE tokens ADD COLUMN login BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
