#!/usr/bin/env bash
# Starts SeaweedFS for Atoll in a container (compose: deploy/compose/seaweedfs.yaml; Helm: templates/seaweedfs.yaml).
# Writes the two config files the local stack writes (packages/stack/src/seaweedfs.ts; test/deploy checks they are
# the same) from the environment into a private directory, then runs `weed "$@"` with them:
#   - the static S3 identity of the root key (SeaweedFS's Admin action; every other user is made by init through
#     the IAM API) from ATOLL_SEAWEEDFS_ROOT_USER / ATOLL_SEAWEEDFS_ROOT_PASSWORD;
#   - the IAM/STS file (deny by default; STS signing key ATOLL_SEAWEEDFS_STS_SIGNING_KEY, base64 of 16+ bytes).
# WEED_S3_SSE_KEK (64 hex characters) and WEED_JWT_FILER_SIGNING_KEY are read by weed itself; they are checked here so
# a bad value stops the container with its name instead of a failed PUT later.
set -euo pipefail

conf="${ATOLL_SEAWEEDFS_CONFIG_DIR:-/run/seaweedfs}"
fail() { printf 'atoll-seaweedfs: %s\n' "$1" >&2; exit 64; }

# The values go into JSON as they are: allow only characters that need no escaping there.
for name in ATOLL_SEAWEEDFS_ROOT_USER ATOLL_SEAWEEDFS_ROOT_PASSWORD ATOLL_SEAWEEDFS_STS_SIGNING_KEY WEED_S3_SSE_KEK WEED_JWT_FILER_SIGNING_KEY; do
  [[ -n "${!name:-}" ]] || fail "$name is not set"
  [[ "${!name}" =~ ^[A-Za-z0-9._~+/=:-]+$ ]] || fail "$name may hold only letters, digits and ._~+/=:-"
done
[[ ${#ATOLL_SEAWEEDFS_ROOT_PASSWORD} -ge 8 ]] || fail "ATOLL_SEAWEEDFS_ROOT_PASSWORD must be at least 8 characters"
[[ "$WEED_S3_SSE_KEK" =~ ^[0-9a-fA-F]{64}$ ]] || fail "WEED_S3_SSE_KEK must be 64 hex characters (32 bytes), e.g. \$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')"
[[ "$ATOLL_SEAWEEDFS_STS_SIGNING_KEY" =~ ^[A-Za-z0-9+/]{22,}={0,2}$ && $(( ${#ATOLL_SEAWEEDFS_STS_SIGNING_KEY} % 4 )) -eq 0 ]] \
  || fail "ATOLL_SEAWEEDFS_STS_SIGNING_KEY must be standard base64 of at least 16 bytes, e.g. \$(head -c 32 /dev/urandom | base64)"
[[ ${#WEED_JWT_FILER_SIGNING_KEY} -ge 32 ]] || fail "WEED_JWT_FILER_SIGNING_KEY must be at least 32 characters"

umask 077
mkdir -p "$conf"
printf '{"identities":[{"name":"atollroot","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' \
  "$ATOLL_SEAWEEDFS_ROOT_USER" "$ATOLL_SEAWEEDFS_ROOT_PASSWORD" > "$conf/s3-identities.json"
# roleStore filer: roles (the api's vended-credentials role) survive a restart; SeaweedFS's default with a file is memory.
printf '{"sts":{"tokenDuration":"1h","maxSessionLength":"12h","issuer":"atoll-seaweedfs","signingKey":"%s"},"policy":{"defaultEffect":"Deny"},"roleStore":{"storeType":"filer"}}' \
  "$ATOLL_SEAWEEDFS_STS_SIGNING_KEY" > "$conf/s3-iam.json"
# weed reads them from the files; nothing it starts needs them in its environment.
unset ATOLL_SEAWEEDFS_ROOT_USER ATOLL_SEAWEEDFS_ROOT_PASSWORD ATOLL_SEAWEEDFS_STS_SIGNING_KEY

exec "${ATOLL_SEAWEEDFS_WEED:-/usr/local/bin/weed}" "$@" "-s3.config=$conf/s3-identities.json" "-s3.iam.config=$conf/s3-iam.json"
