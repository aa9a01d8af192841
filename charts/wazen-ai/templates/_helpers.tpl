{{/*
Names. Every helper is prefixed with the chart name; names are truncated to 63 characters.
*/}}
{{- define "wazen-ai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wazen-ai.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's name: fullname truncated so that "-<suffix>" still fits 63 characters. */}}
{{- define "wazen-ai.componentName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "wazen-ai.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "wazen-ai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wazen-ai.metricsServiceName" -}}
{{- include "wazen-ai.componentName" (list . "metrics") }}
{{- end }}
{{- define "wazen-ai.redis.fullname" -}}
{{- include "wazen-ai.componentName" (list . "redis") }}
{{- end }}
{{- define "wazen-ai.redis.metricsServiceName" -}}
{{- include "wazen-ai.componentName" (list . "redis-metrics") }}
{{- end }}
{{- define "wazen-ai.postgresql.fullname" -}}
{{- include "wazen-ai.componentName" (list . "postgresql") }}
{{- end }}

{{/*
Labels. selectorLabels never change after install (Deployment selectors are immutable);
every pod also carries app.kubernetes.io/component, which the selectors include.
*/}}
{{- define "wazen-ai.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wazen-ai.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "wazen-ai.labels" -}}
helm.sh/chart: {{ include "wazen-ai.chart" . }}
{{ include "wazen-ai.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wazen-ai
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (list $ "app"). */}}
{{- define "wazen-ai.componentSelectorLabels" -}}
{{- $ctx := index . 0 -}}
{{ include "wazen-ai.selectorLabels" $ctx }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Labels of one component's resources: (list $ "redis"). */}}
{{- define "wazen-ai.componentLabels" -}}
{{- $ctx := index . 0 -}}
{{ include "wazen-ai.labels" $ctx }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "wazen-ai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wazen-ai.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: (dict "image" .Values.x.image "default" "tag"); the digest wins over the tag. */}}
{{- define "wazen-ai.imageRef" -}}
{{- $image := .image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (toString (default .default $image.tag)) }}
{{- end }}
{{- end }}

{{- define "wazen-ai.image" -}}
{{- include "wazen-ai.imageRef" (dict "image" .Values.image "default" .Chart.AppVersion) }}
{{- end }}

{{/*
Secrets. A generated value is read back with `lookup` so that upgrades keep it; `helm template`
(no cluster) generates a fresh one each time.
*/}}
{{- define "wazen-ai.secretName" -}}
{{- include "wazen-ai.fullname" . }}
{{- end }}

{{/*
(list $ secretName key length): existing value (base64) or a new random one (base64).
The value is memoised for the whole render (in a map kept on .Values, which every template of
the chart shares), so the Secret and the pods' checksum/secret annotation, which includes the
Secret's template again, see the same random value. Without it the first install hashes a second
random value, and the first upgrade (which reads the stored one back) restarts every pod.
*/}}
{{- define "wazen-ai.generatedSecretValue" -}}
{{- $ctx := index . 0 -}}
{{- $memoKey := printf "%s/%s" (index . 1) (index . 2) }}
{{- if not (hasKey $ctx.Values "__generatedSecrets") }}
{{- $_ := set $ctx.Values "__generatedSecrets" dict }}
{{- end }}
{{- $memo := get $ctx.Values "__generatedSecrets" }}
{{- if not (hasKey $memo $memoKey) }}
{{- $existing := lookup "v1" "Secret" $ctx.Release.Namespace (index . 1) }}
{{- $data := dict }}
{{- if $existing }}{{ $data = default (dict) $existing.data }}{{ end }}
{{- if hasKey $data (index . 2) }}
{{- $_ := set $memo $memoKey (index $data (index . 2)) }}
{{- else }}
{{- $_ := set $memo $memoKey (randAlphaNum (int (index . 3)) | b64enc) }}
{{- end }}
{{- end }}
{{- get $memo $memoKey }}
{{- end }}

{{- define "wazen-ai.redis.secretName" -}}
{{- default (include "wazen-ai.redis.fullname" .) .Values.redis.auth.existingSecret }}
{{- end }}
{{- define "wazen-ai.redis.secretKey" -}}
{{- if .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecretKey }}{{ else }}REDIS_PASSWORD{{ end }}
{{- end }}

{{- define "wazen-ai.postgresql.secretName" -}}
{{- default (include "wazen-ai.postgresql.fullname" .) .Values.postgresql.auth.existingSecret }}
{{- end }}
{{- define "wazen-ai.postgresql.secretKey" -}}
{{- if .Values.postgresql.auth.existingSecret }}{{ .Values.postgresql.auth.existingSecretKey }}{{ else }}POSTGRES_PASSWORD{{ end }}
{{- end }}

{{/*
Comma-separated ALLOWED_HOSTS: every host a URL printed by NOTES.txt uses must be here, or Django
answers 400. Values, loopback (the `kubectl port-forward` URL), the Service DNS names, ingress
hosts (POD_IP is added by the app). A NodePort or LoadBalancer Service is reached by a node or
load-balancer address the chart cannot know, so with one of those and no django.allowedHosts,
every Host is accepted ("*"); listing the addresses in django.allowedHosts validates them again.
*/}}
{{- define "wazen-ai.allowedHosts" -}}
{{- $hosts := list }}
{{- range .Values.django.allowedHosts }}{{ $hosts = append $hosts . }}{{ end }}
{{- if and (has .Values.service.type (list "NodePort" "LoadBalancer")) (not .Values.django.allowedHosts) }}
{{- $hosts = append $hosts "*" }}
{{- end }}
{{- $hosts = concat $hosts (list "localhost" "127.0.0.1" "[::1]") }}
{{- $svc := include "wazen-ai.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $hosts = concat $hosts (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns)) }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}{{ $hosts = append $hosts .host }}{{ end }}
{{- end }}
{{- $hosts | uniq | join "," }}
{{- end }}

{{- define "wazen-ai.csrfTrustedOrigins" -}}
{{- $origins := list }}
{{- range .Values.django.csrfTrustedOrigins }}{{ $origins = append $origins . }}{{ end }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.tls }}
{{- range .hosts }}{{ $origins = append $origins (printf "https://%s" .) }}{{ end }}
{{- end }}
{{- end }}
{{- $origins | uniq | join "," }}
{{- end }}

{{/*
Environment of every container running the app image (app, wait-for-migrations, migrate, seed):
settings from the ConfigMap, secrets by reference. Passwords of the in-chart Redis/PostgreSQL
are composed into the URLs with Kubernetes' $(VAR) expansion, so no URL with a password is
stored anywhere.
*/}}
{{- define "wazen-ai.appEnv" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: DJANGO_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (include "wazen-ai.secretName" .) .Values.django.secretKey.existingSecret }}
      key: {{ ternary .Values.django.secretKey.existingSecretKey "DJANGO_SECRET_KEY" (ne .Values.django.secretKey.existingSecret "") }}
{{- if .Values.postgresql.enabled }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wazen-ai.postgresql.secretName" . }}
      key: {{ include "wazen-ai.postgresql.secretKey" . }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(POSTGRES_PASSWORD)@%s:5432/%s" .Values.postgresql.username (include "wazen-ai.postgresql.fullname" .) .Values.postgresql.database | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "wazen-ai.secretName" .) .Values.database.existingSecret }}
      key: {{ ternary .Values.database.existingSecretKey "DATABASE_URL" (ne .Values.database.existingSecret "") }}
{{- end }}
{{- if .Values.redis.enabled }}
{{- if .Values.redis.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wazen-ai.redis.secretName" . }}
      key: {{ include "wazen-ai.redis.secretKey" . }}
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/%d" (include "wazen-ai.redis.fullname" .) (int .Values.redis.database) | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379/%d" (include "wazen-ai.redis.fullname" .) (int .Values.redis.database) | quote }}
{{- end }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "wazen-ai.secretName" .) .Values.externalRedis.existingSecret }}
      key: {{ ternary .Values.externalRedis.existingSecretKey "REDIS_URL" (ne .Values.externalRedis.existingSecret "") }}
{{- end }}
{{- if eq .Values.llm.provider "openai" }}
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ default (include "wazen-ai.secretName" .) .Values.llm.openai.existingSecret }}
      key: {{ ternary .Values.llm.openai.existingSecretKey "OPENAI_API_KEY" (ne .Values.llm.openai.existingSecret "") }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "wazen-ai.appEnvFrom" -}}
- configMapRef:
    name: {{ include "wazen-ai.fullname" . }}
{{- with .Values.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes and mounts of every app-image container: read-only root, in-memory writable dirs. */}}
{{- define "wazen-ai.appVolumes" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.tmpVolumes.tmpSizeLimit }}
- name: metrics
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.tmpVolumes.metricsSizeLimit }}
{{- end }}

{{- define "wazen-ai.appVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: /run/metrics
{{- end }}

{{/*
The wait-for-migrations init container: the app's `wait_for_migrations` command (through the
entrypoint's `manage` subcommand, so no path inside the image is assumed) polls until no
migration is pending, and exits at once on SIGTERM although it runs as PID 1.
*/}}
{{- define "wazen-ai.waitForMigrationsContainer" -}}
- name: wait-for-migrations
  image: {{ include "wazen-ai.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - manage
    - wait_for_migrations
    - --interval
    - {{ int .Values.migrations.waitForMigrations.intervalSeconds | quote }}
  env:
    {{- include "wazen-ai.appEnv" . | nindent 4 }}
  envFrom:
    {{- include "wazen-ai.appEnvFrom" . | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.helperResources | nindent 4 }}
  volumeMounts:
    {{- include "wazen-ai.appVolumeMounts" . | nindent 4 }}
{{- end }}

{{/* Effective minimum replicas (HPA minimum or replicaCount). */}}
{{- define "wazen-ai.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.minReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end }}
{{- end }}

{{/* Label selector (PromQL) of the app's metrics series as the Prometheus Operator labels them. */}}
{{- define "wazen-ai.promSelector" -}}
job="{{ include "wazen-ai.metricsServiceName" . }}", namespace="{{ .Release.Namespace }}"
{{- end }}

{{/*
Contradictory values fail the render with a clear message.
*/}}
{{- define "wazen-ai.validate" -}}
{{- $v := .Values }}
{{- if and $v.postgresql.enabled (or $v.database.url $v.database.existingSecret) }}
{{- fail "postgresql.enabled=true deploys a database: leave database.url and database.existingSecret empty, or set postgresql.enabled=false" }}
{{- end }}
{{- if and (not $v.postgresql.enabled) (not (or $v.database.url $v.database.existingSecret)) }}
{{- fail "no database: set database.url or database.existingSecret, or postgresql.enabled=true" }}
{{- end }}
{{- if and $v.database.url $v.database.existingSecret }}
{{- fail "set database.url or database.existingSecret, not both" }}
{{- end }}
{{- if and $v.redis.enabled (or $v.externalRedis.url $v.externalRedis.existingSecret) }}
{{- fail "redis.enabled=true deploys Redis: leave externalRedis.url and externalRedis.existingSecret empty, or set redis.enabled=false" }}
{{- end }}
{{- if and (not $v.redis.enabled) (not (or $v.externalRedis.url $v.externalRedis.existingSecret)) }}
{{- fail "redis.enabled=false needs externalRedis.url or externalRedis.existingSecret" }}
{{- end }}
{{- if and $v.externalRedis.url $v.externalRedis.existingSecret }}
{{- fail "set externalRedis.url or externalRedis.existingSecret, not both" }}
{{- end }}
{{- if and $v.redis.metrics.enabled (not $v.redis.enabled) }}
{{- fail "redis.metrics.enabled=true needs redis.enabled=true (the exporter is a sidecar of the in-chart Redis)" }}
{{- end }}
{{- if and (not $v.redis.auth.enabled) $v.redis.auth.existingSecret }}
{{- fail "redis.auth.existingSecret is set but redis.auth.enabled=false" }}
{{- end }}
{{- if and (eq $v.llm.provider "openai") (not (or $v.llm.openai.apiKey $v.llm.openai.existingSecret)) }}
{{- fail "llm.provider=openai needs llm.openai.apiKey or llm.openai.existingSecret" }}
{{- end }}
{{- if and $v.llm.openai.apiKey $v.llm.openai.existingSecret }}
{{- fail "set llm.openai.apiKey or llm.openai.existingSecret, not both" }}
{{- end }}
{{- if le (int $v.terminationGracePeriodSeconds) (add (int $v.preStopSleepSeconds) (int $v.gunicorn.gracefulTimeout)) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + gunicorn.gracefulTimeout (%d + %d), or requests are cut off at shutdown" (int $v.terminationGracePeriodSeconds) (int $v.preStopSleepSeconds) (int $v.gunicorn.gracefulTimeout)) }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and $v.autoscaling.enabled (not (or $v.autoscaling.targetCPUUtilizationPercentage $v.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "autoscaling.enabled=true needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if and (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) }}
{{- fail "set podDisruptionBudget.maxUnavailable or podDisruptionBudget.minAvailable, not both" }}
{{- end }}
{{- $minAvailable := $v.podDisruptionBudget.minAvailable }}
{{- $minReplicas := int (include "wazen-ai.minReplicas" .) }}
{{- if and $v.podDisruptionBudget.enabled (gt $minReplicas 1) (not (kindIs "invalid" $minAvailable)) (not (kindIs "string" $minAvailable)) }}
{{- if ge (int $minAvailable) $minReplicas }}
{{- fail (printf "podDisruptionBudget.minAvailable (%d) must be below the minimum replica count (%d), or no node could ever be drained" (int $minAvailable) $minReplicas) }}
{{- end }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.hosts) }}
{{- fail "ingress.enabled=true needs at least one entry in ingress.hosts" }}
{{- end }}
{{- if and $v.demo.seedJob.enabled (not $v.migrations.enabled) (not $v.migrations.waitForMigrations.enabled) }}
{{- fail "demo.seedJob.enabled=true needs migrations.enabled or migrations.waitForMigrations.enabled (the seed must run on a migrated schema)" }}
{{- end }}
{{- end }}

{{/* NetworkPolicy peer of the Prometheus allowed to scrape metrics ports. */}}
{{- define "wazen-ai.monitoringPeer" -}}
- namespaceSelector:
    {{- with .Values.networkPolicy.monitoring.namespaceSelector }}
    matchLabels:
      {{- toYaml . | nindent 6 }}
    {{- else }}
    {}
    {{- end }}
  podSelector:
    {{- with .Values.networkPolicy.monitoring.podSelector }}
    matchLabels:
      {{- toYaml . | nindent 6 }}
    {{- else }}
    {}
    {{- end }}
{{- end }}

{{/* NetworkPolicy peer: this release's pods running the app image (app, migrate, seed-demo, bootstrap). */}}
{{- define "wazen-ai.appClientsPeer" -}}
- podSelector:
    matchLabels:
      {{- include "wazen-ai.selectorLabels" . | nindent 6 }}
    matchExpressions:
      - key: app.kubernetes.io/component
        operator: In
        values: ["app", "migrate", "seed-demo", "bootstrap"]
{{- end }}

{{/*
Refuse an upgrade that would change a StatefulSet's volumeClaimTemplates, which Kubernetes
forbids ("updates to statefulset spec for fields other than … are forbidden"): the upgrade would
otherwise fail half-way with an API error. (list $ name persistence valuesPath): persistence is
the component's .persistence values. The existing StatefulSet is read with `lookup`, so
`helm template` (no cluster) never fails here. The message gives the migration path, which
keeps the pods and PVCs: delete the StatefulSet object only, then upgrade again.
*/}}
{{- define "wazen-ai.guardVolumeClaimTemplates" -}}
{{- $ctx := index . 0 }}
{{- $existing := lookup "apps/v1" "StatefulSet" $ctx.Release.Namespace (index . 1) }}
{{- if $existing }}
{{- include "wazen-ai.checkVolumeClaimTemplates" (append . $existing) }}
{{- end }}
{{- end }}

{{/* (list $ name persistence valuesPath existingStatefulSet): fail if the claim would change. */}}
{{- define "wazen-ai.checkVolumeClaimTemplates" -}}
{{- $ctx := index . 0 }}
{{- $name := index . 1 }}
{{- $persistence := index . 2 }}
{{- $path := index . 3 }}
{{- $existing := index . 4 }}
{{- $claims := default (list) $existing.spec.volumeClaimTemplates }}
{{- $had := "" }}
{{- $hadClass := "" }}
{{- range $claims }}
{{- if eq .metadata.name "data" }}
{{- $had = toString .spec.resources.requests.storage }}
{{- $hadClass = toString (default "" .spec.storageClassName) }}
{{- end }}
{{- end }}
{{- $want := "" }}
{{- if $persistence.enabled }}{{ $want = toString $persistence.size }}{{ end }}
{{- $fix := printf "To apply it, keep the pods and volumes and recreate only the StatefulSet object: `kubectl -n %s delete statefulset %s --cascade=orphan`, then run the upgrade again (chart README, \"Changing persistence\")." $ctx.Release.Namespace $name }}
{{- if ne (empty $had) (empty $want) }}
{{- fail (printf "%s.enabled cannot change from %t to %t in an upgrade: StatefulSet %s's volumeClaimTemplates are immutable. %s" $path (not (empty $had)) (not (empty $want)) $name $fix) }}
{{- else if and $want (ne (include "wazen-ai.quantityBytes" $had) (include "wazen-ai.quantityBytes" $want)) }}
{{- fail (printf "%s.size cannot change from %s to %s in an upgrade: StatefulSet %s's volumeClaimTemplates are immutable (resize the PVC itself if its StorageClass allows expansion, and set %s.size to match). %s" $path $had $want $name $path $fix) }}
{{- else if and $want $persistence.storageClass (ne $hadClass (toString $persistence.storageClass)) }}
{{- fail (printf "%s.storageClass cannot change from %q to %q in an upgrade: StatefulSet %s's volumeClaimTemplates are immutable. %s" $path $hadClass $persistence.storageClass $name $fix) }}
{{- end }}
{{- end }}

{{/*
A storage quantity in bytes ("1Gi" and "1024Mi" alike: the API server stores quantities in
canonical form), or the quantity itself when its suffix is not a size suffix.
*/}}
{{- define "wazen-ai.quantityBytes" -}}
{{- $q := toString . }}
{{- $num := regexFind "^[0-9.]+" $q }}
{{- $suffix := trimPrefix $num $q }}
{{- $factors := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- if and $num (hasKey $factors $suffix) }}
{{- mulf (float64 $num) (get $factors $suffix) | int64 }}
{{- else }}
{{- $q }}
{{- end }}
{{- end }}
