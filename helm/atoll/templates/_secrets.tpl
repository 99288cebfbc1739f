{{/*
Where each value of the chart-made Secret comes from, in this order: the value given in `secrets.*`; else the value
the Secret already holds in the cluster (an upgrade, or a reinstall after `helm uninstall`, which keeps the Secret);
else, for a secret only this installation uses, a new random one. Generated once and kept: PostgreSQL, MinIO,
SeaweedFS and Keycloak store what they were first started with (SeaweedFS's SSE key encrypts every object), and the TID key and the KEK cannot change without changing every
pseudonym and losing every signing key. With secrets.existingSecret none of this applies.
*/}}

{{/* The Secret's data as it is in the cluster (base64 values by key), or {} when there is none. `lookup` asks the
API server during install and upgrade; `helm template`, `helm lint` and `--dry-run=client` get {} and so show freshly
generated values. */}}
{{- define "atoll.existingSecretData" -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "atoll.secretName" .) | default dict -}}
{{- get $secret "data" | default dict | toYaml -}}
{{- end -}}

{{/* Secrets this combination of components needs that the chart cannot make up: they must match something outside
the chart. values key → what it is (the failure message names it). */}}
{{- define "atoll.secretsToGive" -}}
{{- if not .Values.postgresql.enabled }}
postgresAppPassword: the password of externalPostgresql.username on your PostgreSQL
{{- if .Values.keycloak.enabled }}
postgresKeycloakPassword: the password of externalPostgresql.keycloakUsername on your PostgreSQL
{{- end }}
{{- end }}
{{- if not .Values.redis.enabled }}
redisPassword: the password of your Redis (externalRedis)
{{- end }}
{{- if not (include "atoll.s3InCluster" .) }}
s3RootUser: an admin user of your S3 server (externalS3), with which the init job creates the service users
s3RootPassword: the password of secrets.s3RootUser on your S3 server (externalS3)
{{- end }}
{{- if not .Values.keycloak.enabled }}
keycloakAdminClientSecret: the secret of the atoll-admin client in your Keycloak (externalKeycloak)
{{- end }}
{{- if not .Values.stripeMock.enabled }}
stripeWebhookSecret: the signing secret (whsec_...) of your Stripe webhook endpoint
stripeSecretKey: your Stripe secret or restricted key
{{- end }}
{{- end -}}

{{/* A new random value for one secret: include "atoll.generateSecret" "tidKey". sprig's randAlphaNum and randBytes
read crypto/rand. Alphanumeric, because some secrets end up inside postgres:// and redis:// URLs. */}}
{{- define "atoll.generateSecret" -}}
{{- if eq . "s3RootUser" -}}
{{- printf "root-%s" (randAlphaNum 12 | lower) -}}
{{- else if eq . "minioKmsSecretKey" -}}
{{- printf "atoll-sse:%s" (randBytes 32) -}}
{{- else if eq . "seaweedfsSseKek" -}}
{{- /* 64 hex characters (32 bytes), what WEED_S3_SSE_KEK takes. sprig has no random hex: the SHA-256 of 64 random
alphanumerics (about 381 bits of entropy) is 256 bits no one can predict. */ -}}
{{- randAlphaNum 64 | sha256sum -}}
{{- else if eq . "seaweedfsStsSigningKey" -}}
{{- /* Standard base64 of 32 random bytes (SeaweedFS decodes the JSON string into bytes). */ -}}
{{- randBytes 32 -}}
{{- else if eq . "stripeSecretKey" -}}
{{- /* stripe-mock accepts sk_test_<anything without an underscore>. */ -}}
{{- printf "sk_test_%s" (randAlphaNum 32) -}}
{{- else if has . (list "tidKey" "kek" "seaweedfsJwtSigningKey") -}}
{{- randAlphaNum 48 -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}

{{/* The Secret's data: Secret key → base64 value, each from where the comment at the top of this file says. */}}
{{- define "atoll.secretData" -}}
{{- $keys := include "atoll.secretKeys" . | fromYaml -}}
{{- $required := include "atoll.requiredSecrets" . | fromYaml -}}
{{- $toGive := include "atoll.secretsToGive" . | fromYaml -}}
{{- $existing := include "atoll.existingSecretData" . | fromYaml -}}
{{- $data := dict -}}
{{- range $name, $key := $keys -}}
{{- $given := index $.Values.secrets $name | default "" | toString -}}
{{- if $given -}}
{{- $_ := set $data $key (b64enc $given) -}}
{{- else if hasKey $existing $key -}}
{{- $_ := set $data $key (index $existing $key) -}}
{{- else if and (hasKey $required $name) (not (hasKey $toGive $name)) -}}
{{- $_ := set $data $key (include "atoll.generateSecret" $name | b64enc) -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* Fails, naming each value, when secrets are missing and cannot be generated, or a given one is unsafe. */}}
{{- define "atoll.checkSecrets" -}}
{{- $v := .Values -}}
{{- $keys := include "atoll.secretKeys" . | fromYaml -}}
{{- $toGive := include "atoll.secretsToGive" . | fromYaml -}}
{{- $existing := include "atoll.existingSecretData" . | fromYaml -}}
{{- $missing := list -}}
{{- range $name, $why := $toGive }}
{{- if not (or (index $v.secrets $name) (hasKey $existing (index $keys $name))) }}
{{- $missing = append $missing (printf "  secrets.%s (%s): %s" $name (index $keys $name) $why) }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "these secrets must be given, the chart cannot generate them (or set secrets.existingSecret to a Secret holding their keys):\n%s" (join "\n" $missing)) }}
{{- end }}
{{- range $name, $minLength := include "atoll.requiredSecrets" . | fromYaml }}
{{- $value := index $v.secrets $name | default "" | toString }}
{{- if $value }}
{{- if contains "change-me" (lower $value) }}
{{- fail (printf "secrets.%s still holds the example placeholder (\"change-me…\"): set a real secret, or leave it empty and the chart generates one" $name) }}
{{- end }}
{{- if lt (len $value) (int $minLength) }}
{{- fail (printf "secrets.%s must be at least %d characters" $name (int $minLength)) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (include "atoll.minioInCluster" .) $v.secrets.minioKmsSecretKey (not (regexMatch "^[A-Za-z0-9_.-]+:[A-Za-z0-9+/]{43}=$" $v.secrets.minioKmsSecretKey)) }}
{{- fail "secrets.minioKmsSecretKey must look like <key-name>:<base64 of 32 bytes>, e.g. atoll-sse:$(head -c 32 /dev/urandom | base64)" }}
{{- end }}
{{- if include "atoll.seaweedfsInCluster" . }}
{{- /* The same checks as the image's start script (deploy/seaweedfs/start.sh), so a bad value stops the install. */}}
{{- if and $v.secrets.seaweedfsSseKek (not (regexMatch "^[0-9a-fA-F]{64}$" $v.secrets.seaweedfsSseKek)) }}
{{- fail "secrets.seaweedfsSseKek must be 64 hex characters (32 bytes), e.g. $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')" }}
{{- end }}
{{- if and $v.secrets.seaweedfsStsSigningKey (not (and (regexMatch "^[A-Za-z0-9+/]{22,}={0,2}$" $v.secrets.seaweedfsStsSigningKey) (eq (mod (len $v.secrets.seaweedfsStsSigningKey) 4) 0))) }}
{{- fail "secrets.seaweedfsStsSigningKey must be standard base64 of at least 16 bytes, e.g. $(head -c 32 /dev/urandom | base64)" }}
{{- end }}
{{- range $name := list "s3RootUser" "s3RootPassword" "seaweedfsJwtSigningKey" }}
{{- $value := index $v.secrets $name | default "" | toString }}
{{- if and $value (not (regexMatch "^[A-Za-z0-9._~+/=:-]+$" $value)) }}
{{- fail (printf "secrets.%s may hold only letters, digits and ._~+/=:- with SeaweedFS (it goes into SeaweedFS's JSON config as is)" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
