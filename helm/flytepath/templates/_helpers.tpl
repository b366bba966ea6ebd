{{/*
Common labels of every object this chart renders.
*/}}
{{- define "flytepath.labels" -}}
app.kubernetes.io/name: flytepath
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/*
The tenants: one per (project, domain), as a YAML list. Names here must match what the
FlytePath runner derives (flytepath_airflow/platform/tenancy.py): namespace
<prefix>-<project>-<domain>, Airflow pool flytepath_<project>_<domain>.
*/}}
{{- define "flytepath.tenants" -}}
{{- $root := . -}}
{{- $tenants := list -}}
{{- $seen := dict -}}
{{- range $project := .Values.projects -}}
{{- if hasKey $seen $project.name -}}
{{- fail (printf "projects: %q is listed twice; list each project once (use its domains to choose tenants)" $project.name) -}}
{{- end -}}
{{- $_ := set $seen $project.name true -}}
{{- range $domain := ($project.domains | default $root.Values.domains) -}}
{{- $quota := merge (deepCopy ($project.quota | default dict)) (deepCopy $root.Values.defaults.quota) -}}
{{- $ns := printf "%s-%s-%s" $root.Values.namespacePrefix $project.name $domain -}}
{{- if gt (len $ns) 63 -}}
{{- fail (printf "tenant %s/%s: namespace %q is longer than 63 characters; shorten namespacePrefix or the project name" $project.name $domain $ns) -}}
{{- end -}}
{{- $tenant := dict "project" $project.name "domain" $domain "namespace" $ns "quota" $quota "image" ($project.image | default "") "priorityClass" ((index $root.Values.defaults.priorityClasses $domain) | default "") "queue" "flytepath" "clusterQueue" $ns "pool" (printf "flytepath_%s_%s" $project.name $domain) -}}
{{- $tenants = append $tenants $tenant -}}
{{- end -}}
{{- end -}}
{{- toYaml $tenants -}}
{{- end }}
