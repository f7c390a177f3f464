#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Deployment files: lint and check the Kubernetes manifests, the alert rules
# and the example config, without a cluster.
#
#   tests/e2e/deploy_manifests.sh        (from anywhere; no root needed)
#
# Prints one "PASS ...", "FAIL ..." or "SKIP ..." line per check and exits
# non-zero when any check failed. SKIP is for tools that are optional here:
# kubectl (kustomize rendering), promtool (alert rule unit tests; Debian 12
# package "prometheus") and a build/sealtrace without "run --check-config".
#
# Needs: yamllint and python3 with PyYAML (Debian: python3-yaml, which the
# yamllint package depends on, so "make deps" installs it with yamllint).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
skip() { echo "SKIP $*"; }
indent() { while IFS= read -r l; do printf '    %s\n' "$l"; done <<<"$1"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- yamllint: every YAML file under deploy/ (repository .yamllint) -------
mapfile -t yamls < <(find deploy -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
if ! command -v yamllint >/dev/null; then
	fail "yamllint: not installed (make deps)"
elif [ "${#yamls[@]}" -eq 0 ]; then
	fail "yamllint: no YAML files under deploy/"
else
	for f in "${yamls[@]}"; do
		if out=$(yamllint -s -c .yamllint "$f" 2>&1); then
			pass "yamllint $f"
		else
			fail "yamllint $f"
			indent "$out"
		fi
	done
fi

# --- structure of the manifests and the config (python3 + PyYAML) --------
if ! python3 -c 'import yaml' 2>/dev/null; then
	fail "python3 yaml module missing (apt-get install python3-yaml)"
else
	python3 - "$tmp" <<'PY' || fails=$((fails + 1))
import os
import sys

import yaml

tmp = sys.argv[1]
K = "deploy/kubernetes"
failed = False


def ok(msg):
    print("PASS " + msg)


def bad(msg):
    global failed
    failed = True
    print("FAIL " + msg)


def check(cond, msg):
    (ok if cond else bad)(msg)
    return cond


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# Each file holds exactly the kind it is named for.
expected = {
    "namespace.yaml": "Namespace",
    "serviceaccount.yaml": "ServiceAccount",
    "daemonset.yaml": "DaemonSet",
    "configmap.yaml": "ConfigMap",
    "secret.yaml": "Secret",
    "service.yaml": "Service",
    "prometheusrule.yaml": "PrometheusRule",
    "completeness-cronjob.yaml": "CronJob",
}
docs = {}
for name, kind in expected.items():
    path = os.path.join(K, name)
    if not os.path.exists(path):
        bad("%s: missing" % path)
        continue
    try:
        ds = load(path)
    except yaml.YAMLError as e:
        bad("%s: not YAML: %s" % (path, e))
        continue
    kinds = [d.get("kind") for d in ds]
    if check(kinds == [kind], "%s: kind %s" % (path, kind)):
        docs[kind] = ds[0]
for name in sorted(os.listdir(K)):
    if name.endswith(".yaml") and name not in expected and name != "kustomization.yaml":
        for d in load(os.path.join(K, name)):
            check("kind" in d and "apiVersion" in d, "%s/%s: has kind and apiVersion" % (K, name))

if "Namespace" in docs:
    ns = docs["Namespace"]["metadata"]["name"]
    for kind, d in docs.items():
        if kind != "Namespace":
            check(d["metadata"].get("namespace") == ns, "%s: in namespace %s" % (kind, ns))

# kustomization: every manifest except the Secret template, and only files
# that exist.
kz = load(os.path.join(K, "kustomization.yaml"))[0]
res = kz.get("resources", [])
for r in res:
    check(os.path.exists(os.path.join(K, r)), "kustomization: %s exists" % r)
for name in expected:
    if name == "secret.yaml":
        check(name not in res, "kustomization: does not apply the secret.yaml template")
    else:
        check(name in res, "kustomization: lists %s" % name)

# DaemonSet: host pid namespace, mounts, keys, probes, rollout.
ds = docs.get("DaemonSet")
if ds:
    spec = ds["spec"]
    pod = spec["template"]["spec"]
    check(pod.get("hostPID") is True, "DaemonSet: hostPID true")
    us = spec.get("updateStrategy", {})
    check(us.get("type") == "RollingUpdate"
          and us.get("rollingUpdate", {}).get("maxUnavailable") == 1,
          "DaemonSet: RollingUpdate with maxUnavailable 1")
    check(us.get("rollingUpdate", {}).get("maxSurge", 0) == 0,
          "DaemonSet: no surge (one consumer per pinned ring buffer)")
    check(pod.get("terminationGracePeriodSeconds", 30) >= 60,
          "DaemonSet: terminationGracePeriodSeconds >= 60 (flush on SIGTERM)")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    agent = [c for c in pod["containers"] if c["name"] == "agent"]
    if check(len(agent) == 1, "DaemonSet: has the agent container"):
        c = agent[0]
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}

        def host_path(mount):
            v = vols.get(mount["name"], {})
            return v.get("hostPath", {}).get("path")

        def need(path, host=None, ro=None, prop=None):
            m = mounts.get(path)
            if not check(m is not None, "DaemonSet: mounts %s" % path):
                return None
            if host is not None:
                check(host_path(m) == host, "DaemonSet: %s is hostPath %s" % (path, host))
            if ro is not None:
                check(bool(m.get("readOnly")) == ro,
                      "DaemonSet: %s %s" % (path, "read-only" if ro else "writable"))
            if prop is not None:
                check(m.get("mountPropagation") == prop,
                      "DaemonSet: %s mountPropagation %s" % (path, prop))
            return m

        # no propagation: containerd refuses it for a private /sys/fs/bpf
        bpffs = need("/sys/fs/bpf", host="/sys/fs/bpf")
        check(bpffs is None or "mountPropagation" not in bpffs,
              "DaemonSet: /sys/fs/bpf without mountPropagation")
        need("/sys/kernel/btf", host="/sys/kernel/btf", ro=True)
        need("/sys/kernel/tracing", host="/sys/kernel/tracing")
        need("/var/lib/sealtrace", host="/var/lib/sealtrace", ro=False)
        km = need("/etc/sealtrace/keys", ro=True)
        if km:
            sec = vols.get(km["name"], {}).get("secret", {}).get("secretName")
            check(sec is not None and "Secret" in docs
                  and sec == docs["Secret"]["metadata"]["name"],
                  "DaemonSet: keys come from the Secret %s" % sec)
        sc = c.get("securityContext", {})
        caps = set(sc.get("capabilities", {}).get("add", []))
        check(sc.get("privileged") is True or {"BPF", "PERFMON", "SYS_PTRACE"} <= caps,
              "DaemonSet: privileged or CAP_BPF+CAP_PERFMON+CAP_SYS_PTRACE")
        for probe in ("livenessProbe", "readinessProbe"):
            g = c.get(probe, {}).get("httpGet", {})
            port = g.get("port")
            if isinstance(port, str):
                port = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}.get(port)
            check(g.get("path") == "/healthz" and port == 9464,
                  "DaemonSet: %s on /healthz port 9464" % probe)
        r = c.get("resources", {})
        check("memory" in r.get("requests", {}) and "cpu" in r.get("requests", {})
              and "memory" in r.get("limits", {}),
              "DaemonSet: cpu/memory requests and a memory limit")
        # The config the agent reads comes from the ConfigMap.
        cms = [v["configMap"]["name"] for v in pod.get("volumes", []) if "configMap" in v]
        check("ConfigMap" in docs and docs["ConfigMap"]["metadata"]["name"] in cms,
              "DaemonSet: mounts the ConfigMap")
        args = c.get("args", [])
        check(args[:2] == ["run", "--config"], "DaemonSet: agent runs 'run --config FILE'")
    # The shipper: a second container with no privilege at all.
    shipper = [c for c in pod["containers"] if c["name"] == "shipper"]
    if check(len(shipper) == 1, "DaemonSet: has the shipper container"):
        c = shipper[0]
        sc = c.get("securityContext", {})
        check(c.get("args", [])[:2] == ["ship", "--config"]
              and sc.get("privileged") is False
              and sc.get("allowPrivilegeEscalation") is False
              and sc.get("capabilities", {}).get("drop") == ["ALL"]
              and not sc.get("capabilities", {}).get("add"),
              "DaemonSet: shipper runs 'ship --config' unprivileged, every capability dropped")
        mounts = {m["name"] for m in c.get("volumeMounts", [])}
        check("bpffs" not in mounts and "tracefs" not in mounts and "state" in mounts,
              "DaemonSet: shipper mounts the state dir, no BPF or tracing fs")

# Service selects the agent pods on the metrics port.
svc = docs.get("Service")
if svc and ds:
    labels = ds["spec"]["template"]["metadata"]["labels"]
    sel = svc["spec"]["selector"]
    check(all(labels.get(k) == v for k, v in sel.items()), "Service: selects the agent pods")
    check(any(p.get("port") == 9464 for p in svc["spec"]["ports"]), "Service: port 9464")

# PrometheusRule: the alerts, each on the metric it is defined by.
pr = docs.get("PrometheusRule")
if pr:
    rules = [r for g in pr["spec"]["groups"] for r in g["rules"] if "alert" in r]
    want = {
        "[Art12] inference logging coverage below 100%": "sealtrace_events_lost_total",
        "checkpoint older than": "sealtrace_last_checkpoint_timestamp_seconds",
        "probe detached": "sealtrace_probe_attached",
        "agent down": "up{",
        "ring buffer above 80%": "sealtrace_ringbuf_used_bytes",
        "[Art72] decision mix shifted": "sealtrace_decisions_total",
        "[Art72] low-confidence decisions": "sealtrace_decision_score_bucket",
        "[Art72] high-severity risk events": "sealtrace_risk_events_total",
        "[Art14] oversight below": "sealtrace_oversight_total",
        "[Art14] oversight overrides": "sealtrace_oversight_total",
        "[Art72] model server errors": "sealtrace_http_responses_total",
    }
    for name, metric in want.items():
        hit = [r for r in rules if name in r["alert"] and metric in r["expr"]]
        check(hit, "PrometheusRule: alert '%s' on %s" % (name, metric))
    with open(os.path.join(tmp, "rules.yaml"), "w") as f:
        yaml.safe_dump({"groups": pr["spec"]["groups"]}, f)

# CronJob: sealtrace status --state-dir ... --json.
cj = docs.get("CronJob")
if cj:
    c = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    argv = c.get("command", []) + c.get("args", [])
    check("status" in argv and "--json" in argv and "--state-dir" in argv,
          "CronJob: runs 'sealtrace status --state-dir DIR --json'")
    check(cj["spec"]["jobTemplate"]["spec"].get("backoffLimit") == 0,
          "CronJob: a failed check is not retried away (backoffLimit 0)")

# ConfigMap: config.yaml is deploy/config/llama.yaml, byte for byte.
cm = docs.get("ConfigMap")
if cm:
    text = cm.get("data", {}).get("config.yaml")
    if check(text is not None, "ConfigMap: has data.config.yaml"):
        with open("deploy/config/llama.yaml", encoding="utf-8") as f:
            check(text == f.read(),
                  "ConfigMap: config.yaml equals deploy/config/llama.yaml (deploy/gen-configmap.sh)")
        with open(os.path.join(tmp, "config.yaml"), "w", encoding="utf-8") as f:
            f.write(text)
        cfg = yaml.safe_load(text)
        for key in ("system_id", "operator_id", "node_id", "state_dir", "keys", "pin_dir",
                    "ringbuf_bytes", "metrics", "targets"):
            check(key in cfg, "config: has %s" % key)
        rb = cfg.get("ringbuf_bytes", 0)
        check(isinstance(rb, int) and rb > 0 and rb & (rb - 1) == 0,
              "config: ringbuf_bytes is a power of two")
        check(cfg.get("keys", {}).get("dir") == "/etc/sealtrace/keys",
              "config: keys.dir is the Secret's mount path")
        check(cfg.get("state_dir") == "/var/lib/sealtrace", "config: state_dir is the hostPath")
        check(str(cfg.get("metrics", {}).get("listen", "")).endswith(":9464"),
              "config: metrics listen on port 9464")
        probes = {p.get("symbol"): p for t in cfg.get("targets", []) for p in t.get("probes", [])}
        dec = probes.get("llama_decode", {}).get("input", {})
        check(dec.get("ptr") == "+16(%sp)" and dec.get("len") == "+8(%sp):s32"
              and dec.get("elem_size") == 4,
              "config: llama_decode input is the measured llama_batch layout")
        tok = probes.get("llama_tokenize", {}).get("input", {})
        check(tok.get("ptr") == "%si" and tok.get("len") == "%dx:s32",
              "config: llama_tokenize input is the measured text/length registers")

sys.exit(1 if failed else 0)
PY
fi

# --- kustomize rendering (offline) -----------------------------------------
if command -v kubectl >/dev/null; then
	if out=$(kubectl kustomize deploy/kubernetes 2>&1); then
		pass "kubectl kustomize deploy/kubernetes renders"
	else
		fail "kubectl kustomize deploy/kubernetes"
		indent "$out"
	fi
else
	skip "kustomize rendering: kubectl not installed"
fi

# --- alert rules: promtool check + unit tests ------------------------------
if ! command -v promtool >/dev/null; then
	skip "promtool: not installed (Debian 12: apt-get install prometheus)"
elif [ ! -s "$tmp/rules.yaml" ]; then
	fail "promtool: rules were not extracted from prometheusrule.yaml"
else
	if out=$(promtool check rules "$tmp/rules.yaml" 2>&1); then
		pass "promtool check rules"
	else
		fail "promtool check rules"
		indent "$out"
	fi
	for t in deploy_rules_test deploy_rules_drift_test; do
		cp "tests/e2e/$t.yaml" "$tmp/$t.yaml"
		if out=$(cd "$tmp" && promtool test rules "$t.yaml" 2>&1); then
			pass "promtool test rules (tests/e2e/$t.yaml)"
		else
			fail "promtool test rules (tests/e2e/$t.yaml)"
			indent "$out"
		fi
	done
fi

# --- Grafana dashboard: JSON, metrics the agent exports, PromQL that parses --
dash=deploy/grafana/sealtrace-monitoring.json
if out=$(python3 - "$dash" "$tmp/dashboard_rules.yaml" <<'PY' 2>&1
import json
import re
import subprocess
import sys

d = json.load(open(sys.argv[1], encoding="utf-8"))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert exprs, "no panel queries"
src = subprocess.run(["grep", "-rhoE", "sealtrace_[a-z_]+", "user/"], capture_output=True,
                     text=True).stdout.split()
known = set(src)
rules = []
for i, e in enumerate(exprs):
    for m in re.findall(r"sealtrace_[a-z_]+", e):
        base = re.sub(r"_(bucket|count|sum)$", "", m)
        assert m in known or base in known, "panel query uses %s, which the agent does not export" % m
    e = e.replace("$__rate_interval", "5m").replace("$system_id", ".*")
    rules.append({"record": "dashboard:q%d" % i, "expr": e})
with open(sys.argv[2], "w") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
print(len(exprs), "queries")
PY
); then
	pass "grafana: $dash is JSON and queries only metrics the agent exports ($out)"
	if command -v promtool >/dev/null; then
		if out=$(promtool check rules "$tmp/dashboard_rules.yaml" 2>&1); then
			pass "grafana: every panel query parses (promtool)"
		else
			fail "grafana: a panel query does not parse"
			indent "$out"
		fi
	fi
else
	fail "grafana: $dash"
	indent "$out"
fi

# --- the agent accepts the ConfigMap's config ------------------------------
bin=build/sealtrace
if [ ! -s "$tmp/config.yaml" ]; then
	fail "check-config: config was not extracted from the ConfigMap"
elif [ ! -x "$bin" ]; then
	skip "check-config: $bin not built"
elif ! { "$bin" run --help 2>&1 || true; } | grep -q -- '--check-config'; then
	skip "check-config: '$bin run' has no --check-config yet"
else
	# What the agent reads: node_id filled in, as the init container does.
	sed 's/__NODE_NAME__/test-node/' "$tmp/config.yaml" >"$tmp/rendered.yaml"
	if out=$("$bin" run --check-config "$tmp/rendered.yaml" 2>&1); then
		pass "check-config: sealtrace accepts the ConfigMap's config"
	else
		fail "check-config: sealtrace rejects the ConfigMap's config"
		indent "$out"
	fi
fi

if [ "$fails" -ne 0 ]; then
	echo "deploy_manifests: $fails check(s) failed"
	exit 1
fi
echo "deploy_manifests: all checks passed"
