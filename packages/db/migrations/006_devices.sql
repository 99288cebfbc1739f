-- Devices (SPEC §5.1), Atoll's token-signing keys (SPEC §2), and nothing else: revocation of live tokens is a Redis
-- deny-list, derived from devices.revoked_at, so losing Redis only shortens to "at most one token lifetime".

CREATE TABLE devices (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES providers (id),
  -- The provider's own opaque user id: needed to fill user_id in device uploads; never published (decision 8).
  user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 256),
  tid text NOT NULL,
  public_key_pem text NOT NULL,
  key_sha256 text NOT NULL,
  -- An attestation registers exactly one device: the unique jti is what makes it single-use.
  attestation_jti text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_by text
);
CREATE INDEX devices_by_subject ON devices (provider_id, tid);

CREATE TABLE token_signing_keys (
  kid text PRIMARY KEY,
  public_jwk jsonb NOT NULL,
  -- AES-256-GCM (iv ‖ tag ‖ ciphertext) of the PKCS#8 private key under a key derived from config; AAD = kid.
  private_key bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_signing_keys_recent ON token_signing_keys (created_at DESC);
