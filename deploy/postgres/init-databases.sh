#!/bin/bash
# First-start provisioning of the PostgreSQL server (docker-entrypoint-initdb.d): the same roles and databases as
# the local stack's provisionPostgres (packages/stack/src/stack.ts). Runs only on an empty data directory.
# Passwords come from the environment and reach psql as variables, never as part of the command line.
# Keycloak's role and database are skipped when ATOLL_POSTGRES_KEYCLOAK_PASSWORD is empty (external Keycloak).
# The Helm chart carries a copy (helm/atoll/files/init-databases.sh) kept equal by scripts/render-k8s.mjs.
set -euo pipefail
: "${ATOLL_POSTGRES_APP_PASSWORD:?ATOLL_POSTGRES_APP_PASSWORD is required}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
  --set=app_password="${ATOLL_POSTGRES_APP_PASSWORD}" <<'SQL'
CREATE ROLE atoll_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE DATABASE atoll OWNER atoll_app;
REVOKE ALL ON DATABASE atoll FROM PUBLIC;
SQL

if [ -n "${ATOLL_POSTGRES_KEYCLOAK_PASSWORD:-}" ]; then
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
    --set=keycloak_password="${ATOLL_POSTGRES_KEYCLOAK_PASSWORD}" <<'SQL'
CREATE ROLE keycloak LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'keycloak_password';
CREATE DATABASE keycloak OWNER keycloak;
REVOKE ALL ON DATABASE keycloak FROM PUBLIC;
SQL
fi
