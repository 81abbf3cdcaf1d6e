{{/* The chart's name, cut to Kubernetes' 63 characters. */}}
{{- define "bridgekeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, the prefix of every object. */}}
{{- define "bridgekeeper.fullname" -}}
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

{{- define "bridgekeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bridgekeeper.labels" -}}
helm.sh/chart: {{ include "bridgekeeper.chart" . }}
{{ include "bridgekeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "bridgekeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bridgekeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bridgekeeper.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret every pod reads its environment from (required: secrets never go in values). */}}
{{- define "bridgekeeper.secretName" -}}
{{- required "existingSecret: name a Secret holding SLACK_BOT_TOKEN, DATABASE_URL and the other secrets" .Values.existingSecret }}
{{- end }}

{{/* Container environment shared by every bridgekeeper container. */}}
{{- define "bridgekeeper.env" -}}
envFrom:
  - secretRef:
      name: {{ include "bridgekeeper.secretName" . }}
{{- if or .Values.env .Values.config }}
env:
  {{- range $name, $value := .Values.env }}
  - name: {{ $name }}
    value: {{ $value | toString | quote }}
  {{- end }}
  {{- if .Values.config }}
  - name: BRIDGEKEEPER_CONFIG
    value: /etc/bridgekeeper/bridgekeeper.toml
  {{- end }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by the web, worker and migration pods. */}}
{{- define "bridgekeeper.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.serviceAccountName }}
serviceAccountName: {{ .Values.serviceAccountName }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}
