{{/* Building blocks of networkpolicies.yaml. */}}

{{- define "atoll.np.peer" -}}
- podSelector:
    matchLabels:
      {{- include "atoll.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- define "atoll.np.external" -}}
{{- $ := index . 0 -}}
- to:
    {{- range $cidr := $.Values.networkPolicy.externalEgressCIDRs }}
    - ipBlock: { cidr: {{ $cidr | quote }} }
    {{- end }}
  ports:
    - { port: {{ index . 1 | int }}, protocol: TCP }
{{- end -}}
{{- define "atoll.np.dns" -}}
- to:
    - namespaceSelector:
        {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 8 }}
      podSelector:
        {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 8 }}
  ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
{{- end -}}
{{- define "atoll.np.ingressController" -}}
- namespaceSelector:
    {{- toYaml .Values.networkPolicy.ingressController.namespaceSelector | nindent 4 }}
  podSelector:
    {{- toYaml .Values.networkPolicy.ingressController.podSelector | nindent 4 }}
{{- end -}}
{{- /* Egress to one backing service: in-cluster pods or the external CIDRs. (list $ internal? component port) */ -}}
{{- define "atoll.np.backend" -}}
{{- $ := index . 0 -}}
{{- if index . 1 -}}
- to:
    {{- include "atoll.np.peer" (list $ (index . 2)) | nindent 4 }}
  ports:
    - { port: {{ index . 3 | int }}, protocol: TCP }
{{- else -}}
{{ include "atoll.np.external" (list $ (index . 3)) }}
{{- end -}}
{{- end -}}
