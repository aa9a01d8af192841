{{/* The first-use bootstrap (bootstrap.*): names, Secret references and the Job's pod. */}}
{{- define "wazen-ai.bootstrap.secretName" -}}
{{- include "wazen-ai.componentName" (list . "bootstrap") }}
{{- end }}

{{/* (list $ "apiKey"|"admin"): name and key of the Secret that holds the value. */}}
{{- define "wazen-ai.bootstrap.secretRef" -}}
{{- $ctx := index . 0 }}{{ $part := get $ctx.Values.bootstrap (index . 1) }}
{{- if $part.existingSecret -}}
name: {{ $part.existingSecret }}
key: {{ $part.existingSecretKey }}
{{- else -}}
name: {{ include "wazen-ai.bootstrap.secretName" $ctx }}
key: {{ if eq (index . 1) "apiKey" }}api-key{{ else }}admin-password{{ end }}
{{- end }}
{{- end }}

{{/* Pod template of the bootstrap Job (its hash names the Job). */}}
{{- define "wazen-ai.bootstrapJobPod" -}}
metadata:
  labels:
    {{- include "wazen-ai.componentLabels" (list . "bootstrap") | nindent 4 }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "wazen-ai.serviceAccountName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  initContainers:
    {{- include "wazen-ai.waitForMigrationsContainer" . | nindent 4 }}
  containers:
    - name: bootstrap
      image: {{ include "wazen-ai.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      # Idempotent; prints what it did, never the key or the password (they come from Secrets).
      args:
        - manage
        - bootstrap
        - --company-slug
        - {{ .Values.bootstrap.company.slug | quote }}
        - --company-name
        - {{ default .Values.bootstrap.company.slug .Values.bootstrap.company.name | quote }}
        {{- with .Values.bootstrap.admin.username }}
        - --admin-username
        - {{ . | quote }}
        - --admin-email
        - {{ $.Values.bootstrap.admin.email | quote }}
        {{- end }}
      env:
        {{- include "wazen-ai.appEnv" . | nindent 8 }}
        - name: WAZEN_BOOTSTRAP_API_KEY
          valueFrom:
            secretKeyRef:
              {{- include "wazen-ai.bootstrap.secretRef" (list . "apiKey") | nindent 14 }}
        {{- if .Values.bootstrap.admin.username }}
        - name: WAZEN_BOOTSTRAP_ADMIN_PASSWORD
          valueFrom:
            secretKeyRef:
              {{- include "wazen-ai.bootstrap.secretRef" (list . "admin") | nindent 14 }}
        {{- end }}
      envFrom:
        {{- include "wazen-ai.appEnvFrom" . | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.migrations.resources | nindent 8 }}
      volumeMounts:
        {{- include "wazen-ai.appVolumeMounts" . | nindent 8 }}
  volumes:
    {{- include "wazen-ai.appVolumes" . | nindent 4 }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Name of the bootstrap Job: "bootstrap-" and a hash of its pod template. */}}
{{- define "wazen-ai.bootstrapJobName" -}}
{{- include "wazen-ai.componentName" (list . (printf "bootstrap-%s" (include "wazen-ai.bootstrapJobPod" . | sha256sum | trunc 10))) }}
{{- end }}
