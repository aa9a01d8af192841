{{/* Pod templates and names of the migration and demo seed Jobs. */}}
{{/* Pod template of the migration Job (its hash names the Job). */}}
{{- define "wazen-ai.migrateJobPod" -}}
metadata:
  labels:
    {{- include "wazen-ai.componentLabels" (list . "migrate") | nindent 4 }}
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
  containers:
    - name: migrate
      image: {{ include "wazen-ai.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      # Waits for the database (DB_WAIT_TIMEOUT), takes an advisory lock, migrates.
      args: ["migrate"]
      env:
        {{- include "wazen-ai.appEnv" . | nindent 8 }}
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

{{/* Name of the migration Job: "migrate-" and a hash of its pod template (see job-migrate.yaml). */}}
{{- define "wazen-ai.migrateJobName" -}}
{{- include "wazen-ai.componentName" (list . (printf "migrate-%s" (include "wazen-ai.migrateJobPod" . | sha256sum | trunc 10))) }}
{{- end }}

{{/* Pod template of the demo seed Job (its hash names the Job). */}}
{{- define "wazen-ai.seedJobPod" -}}
metadata:
  labels:
    {{- include "wazen-ai.componentLabels" (list . "seed-demo") | nindent 4 }}
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
    - name: seed-demo
      image: {{ include "wazen-ai.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["seed-demo"]
      env:
        {{- include "wazen-ai.appEnv" . | nindent 8 }}
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
{{- end }}

{{/* Name of the demo seed Job: "seed-demo-" and a hash of its pod template. */}}
{{- define "wazen-ai.seedJobName" -}}
{{- include "wazen-ai.componentName" (list . (printf "seed-demo-%s" (include "wazen-ai.seedJobPod" . | sha256sum | trunc 10))) }}
{{- end }}
