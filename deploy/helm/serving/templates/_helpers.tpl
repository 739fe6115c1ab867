{{- define "serving.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "serving.fullname" -}}
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

{{- define "serving.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serving.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "serving.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "serving.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "serving.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "serving.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The model argument of `serving serve`: empty for the demo model, hf:... or a path under /models. */}}
{{- define "serving.model" -}}
{{- $m := .Values.model }}
{{- if eq $m.source "huggingFace" }}
{{- required "model.huggingFace.repo is required when model.source is huggingFace" $m.huggingFace.repo | printf "hf:%s" }}
{{- else if ne $m.source "demo" }}
{{- required (printf "model.path is required when model.source is %s" $m.source) $m.path | trimPrefix "/" | printf "/models/%s" }}
{{- end }}
{{- end }}

{{/* Grace period: preStop sleep, then the server's drain, then a margin for the process to exit. */}}
{{- define "serving.terminationGracePeriodSeconds" -}}
{{- add .Values.lifecycle.preStopSleepSeconds .Values.serving.drainTimeoutSeconds .Values.lifecycle.terminationGraceMarginSeconds }}
{{- end }}
