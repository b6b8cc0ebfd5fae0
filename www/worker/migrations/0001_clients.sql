-- The clients of the token endpoint's registry in D1 (www/README.md, "Clients in D1"), read by
-- the Worker when REGISTRY_DB is bound (wrangler.toml, [env.d1]). One row per client: `entry`
-- is the client's object of the registry document (README.md, "Parties and the registry";
-- registry.schema.json), as JSON text, checked by the same loader as every registry when the
-- Worker reads it. The server's issuer identifier, token_endpoint and trusted issuers stay in
-- [vars] REGISTRY. Applied with `wrangler d1 migrations apply rfc7523-clients --env d1`.
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY NOT NULL,
  -- One JSON value whose client_id is the row's (the Worker checks both again, and a row that
  -- fails them or the loader is left out: that client is refused, no other).
  entry TEXT NOT NULL CHECK (json_valid(entry) AND json_extract(entry, '$.client_id') IS client_id),
  -- Unix seconds of the last insert or change of entry (for the logs and for people).
  updated_at INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

CREATE TRIGGER clients_updated_at AFTER UPDATE OF entry ON clients
BEGIN
  UPDATE clients SET updated_at = unixepoch() WHERE client_id = NEW.client_id;
END;
