-- Remove a client: refused by every isolate once its copy of the registry is older than the
-- TTL (REGISTRY_TTL_SECONDS, 30 s by default).
DELETE FROM clients WHERE client_id = 'example-client';
