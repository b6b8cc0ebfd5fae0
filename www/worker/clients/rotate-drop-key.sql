-- Rotate a client's key, step 2, once it signs with the new one: drop the old key (by its kid).
UPDATE clients
SET entry = json_set(entry, '$.jwks.keys', json((
  SELECT json_group_array(json(value)) FROM json_each(entry, '$.jwks.keys')
  WHERE json_extract(value, '$.kid') IS NOT 'example-1')))
WHERE client_id = 'example-client';
