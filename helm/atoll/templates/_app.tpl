{{/*
The Deployment of one Atoll app (api, writer, cleanroom): include "atoll.appDeployment" (list $ "writer" $.Values.writer)
Non-root, read-only root filesystem, no capabilities; /tmp and the work directory are emptyDirs; probes hit
/healthz (liveness, startup) and /readyz (readiness, every dependency reachable).
*/}}
{{- define "atoll.appDeployment" -}}
{{- $ := index . 0 -}}
{{- $app := index . 1 -}}
{{- $cfg := index . 2 -}}
{{- $port := ternary $cfg.port $cfg.healthPort (eq $app "api") -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "atoll.metadata" (list $ $app) | nindent 2 }}
spec:
  {{- if not $cfg.autoscaling.enabled }}
  replicas: {{ $cfg.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "atoll.selectorLabels" (list $ $app) | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "atoll.labels" (list $ $app) | nindent 8 }}
      {{- with include "atoll.secretChecksum" $ }}
      annotations:
        {{- . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "atoll.podDefaults" $ | nindent 6 }}
      securityContext:
        {{- toYaml $.Values.podSecurityContext | nindent 8 }}
      # Long enough for jobs in flight: SIGTERM closes servers and workers and waits for running jobs.
      terminationGracePeriodSeconds: 60
      {{- with include "atoll.scheduling" (list $ $app $cfg) | trim }}{{ . | nindent 6 }}{{ end }}
      containers:
        - name: {{ $app }}
          image: {{ include "atoll.image" (list $ (index $.Values.images $app)) }}
          imagePullPolicy: {{ $.Values.images.pullPolicy }}
          args: [{{ printf "dist/%s.mjs" $app | quote }}]
          ports:
            - name: {{ ternary "http" "health" (eq $app "api") }}
              containerPort: {{ $port }}
              protocol: TCP
          env:
            {{- include "atoll.commonEnv" (list $ $app) | nindent 12 }}
            {{- if eq $app "api" }}
            {{- include "atoll.apiEnv" $ | nindent 12 }}
            {{- else }}
            - name: ATOLL_HEALTH_HOST
              value: 0.0.0.0
            - name: ATOLL_HEALTH_PORT
              value: {{ $port | quote }}
            - name: ATOLL_WORKER_CONCURRENCY
              value: {{ $cfg.concurrency | quote }}
            - name: ATOLL_QUERY_MEMORY_LIMIT
              value: {{ $cfg.queryMemoryLimit | quote }}
            {{- end }}
            {{- if eq $app "writer" }}
            {{- include "atoll.secretEnv" (list $ "ATOLL_TID_KEY" "tidKey") | nindent 12 }}
            {{- /* Built into the writer image (Dockerfile stage orc); ORC bulk files are rejected without it. */}}
            - name: ATOLL_ORC_CONVERTER
              value: /app/bin/atoll-orc-to-parquet
            {{- /* Without bucket notifications the reconciler alone finds bulk files: list staging more often. */}}
            {{- $reconcile := $cfg.bulkReconcileMs | default (ternary "" 10000 (not (empty (include "atoll.bucketNotifications" $)))) }}
            {{- with $reconcile }}
            - name: ATOLL_BULK_RECONCILE_MS
              value: {{ . | toString | quote }}
            {{- end }}
            {{- end }}
            {{- if eq $app "cleanroom" }}
            - name: ATOLL_QUERY_TIMEOUT_MS
              value: {{ $cfg.queryTimeoutMs | quote }}
            {{- /* Billing's Stripe side (meter events, monthly invoices). */}}
            {{- with include "atoll.stripeApiBase" $ }}
            - name: ATOLL_STRIPE_API_BASE
              value: {{ . | quote }}
            {{- end }}
            {{- include "atoll.secretEnv" (list $ "ATOLL_STRIPE_SECRET_KEY" "stripeSecretKey") | nindent 12 }}
            - name: ATOLL_BILLING_RECONCILE_MS
              value: {{ $cfg.billingReconcileMs | quote }}
            {{- end }}
            {{- with $cfg.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet: { path: /healthz, port: {{ $port }} }
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: { path: /healthz, port: {{ $port }} }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: {{ $port }} }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml $cfg.resources | nindent 12 }}
          securityContext:
            {{- toYaml $.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
            - { name: work, mountPath: /var/lib/atoll/work }
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 1Gi }
        - name: work
          emptyDir:
            sizeLimit: {{ $cfg.workDirSizeLimit | default "2Gi" }}
{{- end -}}

{{/* HPA and PodDisruptionBudget of one app. */}}
{{- define "atoll.appScaling" -}}
{{- $ := index . 0 -}}
{{- $app := index . 1 -}}
{{- $cfg := index . 2 -}}
{{- if $cfg.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  {{- include "atoll.metadata" (list $ $app) | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "atoll.component" (list $ $app) }}
  minReplicas: {{ $cfg.autoscaling.minReplicas }}
  maxReplicas: {{ $cfg.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $cfg.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    # Workers finish their jobs before they go; scale down slowly.
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - { type: Pods, value: 1, periodSeconds: 120 }
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "atoll.metadata" (list $ $app) | nindent 2 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "atoll.selectorLabels" (list $ $app) | nindent 6 }}
{{- end -}}
