{{/* Names, labels, images, service addresses and the environment shared by the Atoll apps. */}}

{{- define "atoll.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "atoll.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: include "atoll.component" (list $ "api") */}}
{{- define "atoll.component" -}}
{{- printf "%s-%s" (include "atoll.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{- define "atoll.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "atoll.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Every object carries the region, so "which region is this?" has one answer everywhere. */}}
{{- define "atoll.labels" -}}
{{- $ := index . 0 -}}
{{ include "atoll.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
app.kubernetes.io/part-of: atoll
atoll.io/region: {{ $.Values.region | quote }}
{{- with $.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "atoll.metadata" -}}
name: {{ include "atoll.component" . }}
namespace: {{ (index . 0).Release.Namespace }}
labels:
  {{- include "atoll.labels" . | nindent 2 }}
{{- end -}}

{{/* include "atoll.image" (list $ $.Values.images.api) */}}
{{- define "atoll.image" -}}
{{- $ := index . 0 -}}
{{- $img := index . 1 -}}
{{- $tag := $img.tag | default $.Chart.AppVersion | toString -}}
{{- $repo := $img.repository -}}
{{- with $.Values.global.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{- define "atoll.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "atoll.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "atoll.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "atoll.fullname" .)) -}}
{{- end -}}

{{/* values key under .Values.secrets → key in the Secret (the same names as .env.example). */}}
{{- define "atoll.secretKeys" -}}
postgresSuperuserPassword: ATOLL_POSTGRES_SUPERUSER_PASSWORD
postgresAppPassword: ATOLL_POSTGRES_APP_PASSWORD
postgresKeycloakPassword: ATOLL_POSTGRES_KEYCLOAK_PASSWORD
redisPassword: ATOLL_REDIS_PASSWORD
s3RootUser: ATOLL_MINIO_ROOT_USER
s3RootPassword: ATOLL_MINIO_ROOT_PASSWORD
minioKmsSecretKey: ATOLL_MINIO_KMS_SECRET_KEY
seaweedfsSseKek: ATOLL_SEAWEEDFS_SSE_KEK
seaweedfsJwtSigningKey: ATOLL_SEAWEEDFS_JWT_SIGNING_KEY
seaweedfsStsSigningKey: ATOLL_SEAWEEDFS_STS_SIGNING_KEY
keycloakAdminPassword: ATOLL_KEYCLOAK_ADMIN_PASSWORD
keycloakAdminClientSecret: ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET
operatorClientSecret: ATOLL_OPERATOR_CLIENT_SECRET
s3ApiSecret: ATOLL_S3_API_SECRET
s3WriterSecret: ATOLL_S3_WRITER_SECRET
s3CleanroomSecret: ATOLL_S3_CLEANROOM_SECRET
tidKey: ATOLL_TID_KEY
kek: ATOLL_KEK
stripeWebhookSecret: ATOLL_STRIPE_WEBHOOK_SECRET
stripeSecretKey: ATOLL_STRIPE_SECRET_KEY
{{- end -}}

{{/* The secrets this combination of components needs, with their minimum lengths. */}}
{{- define "atoll.requiredSecrets" -}}
postgresAppPassword: 8
redisPassword: 8
s3RootUser: 3
s3RootPassword: 8
keycloakAdminClientSecret: 8
s3ApiSecret: 16
s3WriterSecret: 16
s3CleanroomSecret: 16
tidKey: 32
kek: 32
stripeWebhookSecret: 16
stripeSecretKey: 8
{{- if .Values.postgresql.enabled }}
postgresSuperuserPassword: 8
{{- end }}
{{- if include "atoll.minioInCluster" . }}
minioKmsSecretKey: 1
{{- end }}
{{- if include "atoll.seaweedfsInCluster" . }}
seaweedfsSseKek: 64
seaweedfsJwtSigningKey: 32
seaweedfsStsSigningKey: 24
{{- end }}
{{- if .Values.keycloak.enabled }}
postgresKeycloakPassword: 8
keycloakAdminPassword: 8
operatorClientSecret: 8
{{- end }}
{{- end -}}

{{/* A secretKeyRef env entry: include "atoll.secretEnv" (list $ "ENV_NAME" "valuesKey") */}}
{{- define "atoll.secretEnv" -}}
{{- $ := index . 0 -}}
{{- $keys := include "atoll.secretKeys" $ | fromYaml -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "atoll.secretName" $ }}
      key: {{ index $keys (index . 2) }}
{{- end -}}

{{/* ---- the S3 server: storage.kind (minio | seaweedfs), in the cluster (minio.enabled) or external ---- */}}

{{/* "true" when the chart runs the S3 server; "" otherwise (the template idiom for booleans). */}}
{{- define "atoll.s3InCluster" -}}
{{- if .Values.minio.enabled }}true{{ end -}}
{{- end -}}
{{- define "atoll.minioInCluster" -}}
{{- if and .Values.minio.enabled (eq .Values.storage.kind "minio") }}true{{ end -}}
{{- end -}}
{{- define "atoll.seaweedfsInCluster" -}}
{{- if and .Values.minio.enabled (eq .Values.storage.kind "seaweedfs") }}true{{ end -}}
{{- end -}}

{{/* The in-cluster S3 server's component name and S3 port. */}}
{{- define "atoll.s3Component" -}}
{{- .Values.storage.kind -}}
{{- end -}}
{{- define "atoll.s3Port" -}}
{{- ternary "8333" "9000" (eq .Values.storage.kind "seaweedfs") -}}
{{- end -}}

{{/* The S3 user of one app: include "atoll.s3User" (list $ "writer"). SeaweedFS takes only letters and digits in an
access key, so there the names lose their dash (the local stack's serviceUsers, packages/stack/src/stack.ts). */}}
{{- define "atoll.s3User" -}}
{{- $ := index . 0 -}}
{{- $app := ternary "api" (index . 1) (eq (index . 1) "init") -}}
{{- printf "atoll%s%s" (ternary "" "-" (eq $.Values.storage.kind "seaweedfs")) $app -}}
{{- end -}}

{{/* "true" when new staging objects are announced to the writer: MinIO's Redis notification target needs both in the
cluster (SeaweedFS has no such target; an external S3 gets none configured). Otherwise the reconciler alone finds them. */}}
{{- define "atoll.bucketNotifications" -}}
{{- if and (include "atoll.minioInCluster" .) .Values.redis.enabled }}true{{ end -}}
{{- end -}}

{{/* ---- where the services are ---- */}}

{{- define "atoll.s3Endpoint" -}}
{{- if include "atoll.s3InCluster" . -}}
{{- printf "http://%s:%s" (include "atoll.component" (list . (include "atoll.s3Component" .))) (include "atoll.s3Port" .) -}}
{{- else -}}
{{- .Values.externalS3.endpoint -}}
{{- end -}}
{{- end -}}

{{- define "atoll.s3PublicEndpoint" -}}
{{- $ing := ternary .Values.seaweedfs.ingress .Values.minio.ingress (eq .Values.storage.kind "seaweedfs") -}}
{{- if and (include "atoll.s3InCluster" .) $ing.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" $ing.tls.enabled) $ing.host -}}
{{- else if .Values.externalS3.enabled -}}
{{- .Values.externalS3.publicEndpoint | default .Values.externalS3.endpoint -}}
{{- end -}}
{{- end -}}

{{- define "atoll.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}{{ include "atoll.component" (list . "postgresql") }}{{- else -}}{{ .Values.externalPostgresql.host }}{{- end -}}
{{- end -}}

{{- define "atoll.postgresPort" -}}
{{- if .Values.postgresql.enabled -}}5432{{- else -}}{{ .Values.externalPostgresql.port }}{{- end -}}
{{- end -}}

{{- define "atoll.databaseUrl" -}}
{{- $db := ternary "atoll" .Values.externalPostgresql.database .Values.postgresql.enabled -}}
{{- $user := ternary "atoll_app" .Values.externalPostgresql.username .Values.postgresql.enabled -}}
{{- $params := ternary "" .Values.externalPostgresql.params .Values.postgresql.enabled -}}
{{- printf "postgres://%s:$(SECRET_POSTGRES_APP_PASSWORD)@%s:%v/%s%s" $user (include "atoll.postgresHost" .) (include "atoll.postgresPort" .) $db (ternary "" (printf "?%s" $params) (empty $params)) -}}
{{- end -}}

{{- define "atoll.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://:$(SECRET_REDIS_PASSWORD)@%s:6379/0" (include "atoll.component" (list . "redis")) -}}
{{- else -}}
{{- printf "%s://:$(SECRET_REDIS_PASSWORD)@%s:%v/%v" (ternary "rediss" "redis" .Values.externalRedis.tls) .Values.externalRedis.host .Values.externalRedis.port .Values.externalRedis.database -}}
{{- end -}}
{{- end -}}

{{/* The issuer of every token: what Keycloak calls itself (KC_HOSTNAME) and what the api checks. */}}
{{- define "atoll.keycloakUrl" -}}
{{- if .Values.externalKeycloak.enabled -}}
{{- trimSuffix "/" .Values.externalKeycloak.url -}}
{{- else if .Values.keycloak.publicUrl -}}
{{- trimSuffix "/" .Values.keycloak.publicUrl -}}
{{- else if .Values.keycloak.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.keycloak.ingress.tls.enabled) .Values.keycloak.ingress.host -}}
{{- else -}}
{{- printf "http://%s:8080" (include "atoll.component" (list . "keycloak")) -}}
{{- end -}}
{{- end -}}

{{- define "atoll.realm" -}}
{{- ternary .Values.externalKeycloak.realm "atoll" .Values.externalKeycloak.enabled -}}
{{- end -}}

{{- define "atoll.apiUrl" -}}
{{- if .Values.publicUrl -}}
{{- trimSuffix "/" .Values.publicUrl -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host -}}
{{- else -}}
{{- printf "http://%s:%v" (include "atoll.component" (list . "api")) .Values.api.port -}}
{{- end -}}
{{- end -}}

{{- define "atoll.stripeApiBase" -}}
{{- if .Values.stripeMock.enabled -}}
{{- printf "http://%s:12111" (include "atoll.component" (list . "stripe-mock")) -}}
{{- else -}}
{{- .Values.stripe.apiBase -}}
{{- end -}}
{{- end -}}

{{/* ---- the environment of the Atoll processes (keys: packages/config/src/schemas.ts) ---- */}}

{{/* Shared by every app: include "atoll.commonEnv" (list $ "api") — the S3 identity is the component's own. */}}
{{- define "atoll.commonEnv" -}}
{{- $ := index . 0 -}}
{{- $app := index . 1 -}}
- name: ATOLL_ENV
  value: {{ $.Values.environment | quote }}
- name: ATOLL_LOG_LEVEL
  value: {{ $.Values.logLevel | quote }}
- name: ATOLL_STORAGE
  value: {{ $.Values.storage.kind | quote }}
# Only used to build the URLs below ($(VAR) expansion); the apps never read them.
{{ include "atoll.secretEnv" (list $ "SECRET_POSTGRES_APP_PASSWORD" "postgresAppPassword") }}
{{ include "atoll.secretEnv" (list $ "SECRET_REDIS_PASSWORD" "redisPassword") }}
- name: ATOLL_DATABASE_URL
  value: {{ include "atoll.databaseUrl" $ | quote }}
- name: ATOLL_REDIS_URL
  value: {{ include "atoll.redisUrl" $ | quote }}
- name: ATOLL_S3_ENDPOINT
  value: {{ include "atoll.s3Endpoint" $ | quote }}
- name: ATOLL_S3_REGION
  value: {{ $.Values.region | quote }}
- name: ATOLL_S3_ACCESS_KEY
  value: {{ include "atoll.s3User" (list $ $app) | quote }}
{{ include "atoll.secretEnv" (list $ "ATOLL_S3_SECRET_KEY" (printf "s3%sSecret" (title (ternary "api" $app (eq $app "init"))))) }}
- name: ATOLL_BUCKET_STAGING
  value: {{ $.Values.buckets.staging | quote }}
- name: ATOLL_BUCKET_LAKE
  value: {{ $.Values.buckets.lake | quote }}
- name: ATOLL_BUCKET_CLEANROOM_PREFIX
  value: {{ $.Values.buckets.cleanroomPrefix | quote }}
- name: ATOLL_WORK_DIR
  value: /var/lib/atoll/work
- name: ATOLL_SHUTDOWN_TIMEOUT_MS
  value: "25000"
{{- end -}}

{{/* The api's own keys (the init job gets them too, as the local stack's initEnv does). */}}
{{- define "atoll.apiEnv" -}}
- name: ATOLL_API_HOST
  value: 0.0.0.0
- name: ATOLL_API_PORT
  value: {{ .Values.api.port | quote }}
- name: ATOLL_API_URL
  value: {{ include "atoll.apiUrl" . | quote }}
{{- with include "atoll.s3PublicEndpoint" . }}
- name: ATOLL_S3_PUBLIC_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: ATOLL_KEYCLOAK_URL
  value: {{ include "atoll.keycloakUrl" . | quote }}
- name: ATOLL_REALM
  value: {{ include "atoll.realm" . | quote }}
- name: ATOLL_KEYCLOAK_ADMIN_CLIENT_ID
  value: atoll-admin
{{ include "atoll.secretEnv" (list . "ATOLL_KEYCLOAK_ADMIN_CLIENT_SECRET" "keycloakAdminClientSecret") }}
{{ include "atoll.secretEnv" (list . "ATOLL_TID_KEY" "tidKey") }}
{{ include "atoll.secretEnv" (list . "ATOLL_KEK" "kek") }}
{{ include "atoll.secretEnv" (list . "ATOLL_STRIPE_WEBHOOK_SECRET" "stripeWebhookSecret") }}
{{- with include "atoll.stripeApiBase" . }}
- name: ATOLL_STRIPE_API_BASE
  value: {{ . | quote }}
{{- end }}
- name: ATOLL_MAX_UPLOAD_BYTES
  value: {{ .Values.api.maxUploadBytes | quote }}
- name: ATOLL_MAX_UPLOAD_RECORDS
  value: {{ .Values.api.maxUploadRecords | quote }}
{{- end -}}

{{/* ---- pod scheduling and hardening ---- */}}

{{/* include "atoll.scheduling" (list $ "api" $.Values.api) */}}
{{- define "atoll.scheduling" -}}
{{- $ := index . 0 -}}
{{- $cfg := index . 2 -}}
{{- if $.Values.topology.pinToRegion }}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - key: topology.kubernetes.io/region
              operator: In
              values: [{{ $.Values.region | quote }}]
{{- end }}
{{- if $.Values.topology.spreadAcrossZones }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "atoll.selectorLabels" (list $ (index . 1)) | nindent 8 }}
{{- end }}
{{- with $cfg.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $cfg.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "atoll.podDefaults" -}}
serviceAccountName: {{ include "atoll.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Third-party containers: non-root under their image's own uid, nothing else allowed. */}}
{{- define "atoll.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "atoll.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* "true" when Services can ask for topology-aware routing with spec.trafficDistribution (Kubernetes 1.31+);
older clusters get the service.kubernetes.io/topology-mode annotation instead. */}}
{{- define "atoll.preferClose" -}}
{{- if semverCompare ">=1.31.0-0" .Capabilities.KubeVersion.Version }}true{{ end -}}
{{- end -}}

{{- define "atoll.secretChecksum" -}}
{{- if not .Values.secrets.existingSecret -}}
checksum/secrets: {{ toYaml .Values.secrets | sha256sum | trunc 16 | quote }}
{{- end -}}
{{- end -}}
