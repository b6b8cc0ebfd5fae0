-- Rotate a client's key, step 1: list the new key beside the old one, so that both verify while
-- the client switches (the RFC 8032 section 7.1 TEST 2 key, also published: put yours).
UPDATE clients
SET entry = json_insert(entry, '$.jwks.keys[#]',
  json('{ "kty": "OKP", "crv": "Ed25519", "kid": "example-2", "x": "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw" }'))
WHERE client_id = 'example-client';
