{{/* The chart's name. */}}
{{- define "roundhouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: the release name, with the chart name unless it already holds it. */}}
{{- define "roundhouse.fullname" -}}
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

{{/* The Lease the operator's replicas elect a leader with: one per release, so that two releases in one namespace
do not share it. */}}
{{- define "roundhouse.leaseName" -}}
{{- printf "%s-leader" (include "roundhouse.fullname" .) }}
{{- end }}

{{/* Labels that pick the operator's pods; they end up in the Deployment's immutable selector. */}}
{{- define "roundhouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roundhouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of every object of the chart. */}}
{{- define "roundhouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "roundhouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: roundhouse
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "roundhouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "roundhouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image by digest when one is given (repository@sha256:...), else by tag (the appVersion by default). */}}
{{- define "roundhouse.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "roundhouse.proxyImage" -}}
{{- if .Values.proxyImage.digest }}
{{- printf "%s@%s" .Values.proxyImage.repository .Values.proxyImage.digest }}
{{- else }}
{{- printf "%s:%s" .Values.proxyImage.repository (.Values.proxyImage.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The names in imagePullSecrets, comma-separated: the operator gives them to every proxy pod (PROXY_IMAGE_PULL_SECRETS).
*/}}
{{- define "roundhouse.pullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.imagePullSecrets }}{{- $names = append $names .name -}}{{- end -}}
{{- join "," $names -}}
{{- end }}
