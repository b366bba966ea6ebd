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
{{- /* Fair share (ADR 0039): a tenant's weight is its project's weight times its domain's,
so projects share idle capacity in the ratio of their weights and, inside a project,
production comes before development. Weights are numbers (values.schema.json); `hasKey`,
not `default`, because 0 is a weight ("only what nobody else wants"). */ -}}
{{- $projectWeight := 1.0 -}}
{{- if hasKey $project "weight" -}}{{- $projectWeight = float64 $project.weight -}}{{- end -}}
{{- $domainWeights := $root.Values.defaults.domainWeights | default dict -}}
{{- $domainWeight := 1.0 -}}
{{- if hasKey $domainWeights $domain -}}{{- $domainWeight = float64 (index $domainWeights $domain) -}}{{- end -}}
{{- $weight := printf "%v" (mulf $projectWeight $domainWeight) -}}
{{- $borrowing := $project.borrowingLimit | default dict -}}
{{- $lending := $project.lendingLimit | default dict -}}
{{- range $res, $lend := $lending -}}
{{- if gt (include "flytepath.quantity" $lend | float64) (include "flytepath.quantity" (index $quota $res) | float64) -}}
{{- fail (printf "projects: %q lendingLimit.%s (%v) is more than its quota.%s (%v); a tenant can lend at most its own quota. Lower lendingLimit.%s or raise quota.%s" $project.name $res $lend $res (index $quota $res) $res $res) -}}
{{- end -}}
{{- end -}}
{{- $tenant := dict "project" $project.name "domain" $domain "namespace" $ns "quota" $quota "image" ($project.image | default "") "priorityClass" ((index $root.Values.defaults.priorityClasses $domain) | default "") "queue" "flytepath" "clusterQueue" $ns "pool" (printf "flytepath_%s_%s" $project.name $domain) "weight" $weight "borrowingLimit" $borrowing "lendingLimit" $lending -}}
{{- $tenants = append $tenants $tenant -}}
{{- end -}}
{{- end -}}
{{- toYaml $tenants -}}
{{- end }}

{{/*
The value of a Kubernetes quantity as a number ("256Gi" -> 274877906944, "500m" -> 0.5),
for comparing two quantities (a lending limit against its quota). values.schema.json has
already checked the grammar: [+]number[suffix], suffix Ki..Ei, m k M G T P E or e<exp>.
*/}}
{{- define "flytepath.quantity" -}}
{{- $text := toString . -}}
{{- $number := regexFind "^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)" $text -}}
{{- $suffix := trimPrefix $number $text -}}
{{- $scale := dict "" 1.0 "m" 0.001 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- $value := float64 (trimPrefix "+" $number) -}}
{{- if hasKey $scale $suffix -}}
{{- $value = mulf $value (index $scale $suffix) -}}
{{- else -}}
{{- $exponent := trimPrefix "+" (trimPrefix "e" (lower $suffix)) -}}
{{- $negative := hasPrefix "-" $exponent -}}
{{- range until (atoi (trimPrefix "-" $exponent)) -}}
{{- $value = ternary (divf $value 10) (mulf $value 10) $negative -}}
{{- end -}}
{{- end -}}
{{- printf "%f" $value -}}
{{- end }}
