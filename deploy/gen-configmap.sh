#!/bin/sh
# Regenerate deploy/kubernetes/configmap.yaml from deploy/config/llama.yaml,
# so the two never drift (tests/e2e/deploy_manifests.sh compares them).
set -eu
cd "$(dirname "$0")"
{
	cat <<'HDR'
# Agent config, mounted into the DaemonSet's init container, which fills in
# node_id and hands the result to the agent.
#
# GENERATED from deploy/config/llama.yaml by deploy/gen-configmap.sh: edit
# that file and rerun the script. The example targets llama.cpp's
# libllama.so; replace system_id, operator_id and the targets with yours.
# A changed config is picked up at the next agent restart
# ("kubectl -n sealtrace rollout restart daemonset/sealtrace"); the agent
# reconciles the pinned probes with it and records a config_change.
apiVersion: v1
kind: ConfigMap
metadata:
  name: sealtrace-config
  namespace: sealtrace
  labels:
    app.kubernetes.io/name: sealtrace
data:
  config.yaml: |
HDR
	sed -e 's/^/    /' -e 's/^ *$//' config/llama.yaml
} > kubernetes/configmap.yaml
