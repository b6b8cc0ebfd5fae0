-- Add a client: its entry of the registry document (README.md, "Parties and the registry") as
-- JSON text, its client_id also the row's. This one's key is the PUBLIC EXAMPLE KEY of RFC 8037
-- Appendix A.1 (Ed25519), whose private half is published: put your client's own key.
INSERT INTO clients (client_id, entry) VALUES ('example-client', '{
  "client_id": "example-client",
  "token_endpoint_auth_method": "private_key_jwt",
  "token_endpoint_auth_signing_alg": "EdDSA",
  "max_lifetime": 300,
  "jwks": { "keys": [
    { "kty": "OKP", "crv": "Ed25519", "kid": "example-1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }
  ] }
}');
