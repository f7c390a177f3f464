#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The sealtrace demo, what `make run` executes (repo root, after `make all`,
# as root): a toy model server answers requests while the agent records
# every predict() call from outside, then the log is verified.
#
# Environment:
#   DEMO_DIR       where config, keys, state and logs go (/tmp/sealtrace-demo;
#                  absolute; state/ is wiped at start, keys/ kept)
#   DEMO_PORT      the server's port on 127.0.0.1 (8088)
#   DEMO_REQUESTS  how many requests to send (20)
#   DEMO_PIN_DIR   bpffs pin directory (/sys/fs/bpf/sealtrace-demo)
#   DEMO_READY_TIMEOUT  seconds to wait for the agent's "ready" line (15)
#   SEALTRACE      the agent binary (build/sealtrace)
#
# Exit status 0 only if every request was answered, the decision stream holds
# exactly one inference record per request and `sealtrace verify` passes.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-/tmp/sealtrace-demo}
DEMO_PORT=${DEMO_PORT:-8088}
DEMO_REQUESTS=${DEMO_REQUESTS:-20}
DEMO_PIN_DIR=${DEMO_PIN_DIR:-/sys/fs/bpf/sealtrace-demo}
DEMO_READY_TIMEOUT=${DEMO_READY_TIMEOUT:-15}
SEALTRACE=${SEALTRACE:-$ROOT/build/sealtrace}
SERVER=$ROOT/build/examples/demo_server

KEYS=$DEMO_DIR/keys
STATE=$DEMO_DIR/state
CFG=$DEMO_DIR/demo.yaml
URL=http://127.0.0.1:$DEMO_PORT

server_pid=
agent_pid=
owns_pins=
step_no=0

step() {
	step_no=$((step_no + 1))
	printf '==> [%d] %s\n' "$step_no" "$*"
}

die() {
	printf 'run-demo: error: %s\n' "$*" >&2
	exit 1
}

# Last lines of a log, indented, for error messages.
show_log() {
	[ -s "$1" ] || return 0
	printf -- '--- last lines of %s ---\n' "$1" >&2
	tail -n 20 "$1" | sed 's/^/    /' >&2
}

alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# SIGTERM, then up to $2 seconds for a clean exit, then SIGKILL.
# Sets stop_status to the process's exit status (137 if it had to be killed).
stop_status=0
stop_pid() {
	local pid=$1 secs=$2 i
	stop_status=0
	alive "$pid" || { wait "$pid" 2>/dev/null || stop_status=$?; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		printf 'run-demo: pid %s ignored SIGTERM for %ss, killing it\n' "$pid" "$secs" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || stop_status=$?
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if alive "$agent_pid"; then
		stop_pid "$agent_pid" 10
	fi
	if alive "$server_pid"; then
		stop_pid "$server_pid" 5
	fi
	# Pinned links would keep the demo's probes attached after we are gone.
	# Only once preflight has vetted the path and this run created it.
	if [ -n "$owns_pins" ] && [ -d "$DEMO_PIN_DIR" ]; then
		rm -rf "$DEMO_PIN_DIR" || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "run-demo: interrupted" >&2; exit 130' INT
trap 'echo "run-demo: terminated" >&2; exit 143' TERM

preflight() {
	[ "$(id -u)" -eq 0 ] || die "run as root (BPF uprobes need it)"
	case $DEMO_DIR in
	/*) ;;
	*) die "DEMO_DIR must be an absolute path (config paths are): $DEMO_DIR" ;;
	esac
	# Both are wiped (rm -rf) at start: refuse anything but a dedicated place.
	case $DEMO_DIR in
	/ | /tmp | /tmp/ | /var | /home | /root) die "DEMO_DIR is too broad: $DEMO_DIR" ;;
	esac
	case $DEMO_PIN_DIR in
	/sys/fs/bpf/?*) ;;
	*) die "DEMO_PIN_DIR must be below /sys/fs/bpf/: $DEMO_PIN_DIR" ;;
	esac
	case $DEMO_PORT in
	'' | *[!0-9]*) die "DEMO_PORT must be a number: $DEMO_PORT" ;;
	esac
	case $DEMO_REQUESTS in
	'' | *[!0-9]* | 0) die "DEMO_REQUESTS must be a positive number: $DEMO_REQUESTS" ;;
	esac
	[ -x "$SEALTRACE" ] || die "$SEALTRACE not built (run: make all)"
	[ -x "$SERVER" ] || die "$SERVER not built (run: make all)"
	command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
	if curl -s -o /dev/null --max-time 1 "$URL/"; then
		die "something already listens on 127.0.0.1:$DEMO_PORT (set DEMO_PORT)"
	fi
}

mount_fs() {
	step "mount tracefs and bpffs if missing"
	if ! mountpoint -q /sys/kernel/tracing; then
		mount -t tracefs tracefs /sys/kernel/tracing
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf
	fi
}

make_keys() {
	if [ -s "$KEYS/signing.pub" ]; then
		step "keys: reusing $KEYS"
		return
	fi
	step "keys: $SEALTRACE keygen --dir $KEYS"
	mkdir -p "$KEYS"
	"$SEALTRACE" keygen --dir "$KEYS" || die "keygen failed"
}

# The effective config: demo.yaml with this run's directories and server.
write_config() {
	step "config: $CFG (fresh state in $STATE)"
	rm -rf "$STATE" "$DEMO_PIN_DIR"
	owns_pins=1
	mkdir -p "$STATE"
	sed -e "s#/tmp/sealtrace-demo#$DEMO_DIR#g" \
	    -e "s#^\\([[:space:]]*path:[[:space:]]*\\).*#\\1$SERVER#" \
	    -e "s#^pin_dir:.*#pin_dir: $DEMO_PIN_DIR#" \
	    "$ROOT/examples/demo.yaml" >"$CFG"
	grep -q "path: $SERVER\$" "$CFG" || die "could not set the server path in $CFG"
}

start_server() {
	local i
	step "start the model server: $SERVER --port $DEMO_PORT"
	"$SERVER" --port "$DEMO_PORT" >"$DEMO_DIR/server.log" 2>&1 &
	server_pid=$!
	for ((i = 0; i < 50; i++)); do
		curl -sf -o /dev/null --max-time 1 "$URL/health" && break
		alive "$server_pid" || { show_log "$DEMO_DIR/server.log"; die "the server exited"; }
		sleep 0.1
	done
	curl -sf -o /dev/null --max-time 1 "$URL/health" ||
		{ show_log "$DEMO_DIR/server.log"; die "the server does not answer on $URL"; }
	printf '    %s\n' "$(head -n 1 "$DEMO_DIR/server.log")"
}

start_agent() {
	local i
	step "start the agent: $SEALTRACE run --config $CFG (log: $DEMO_DIR/agent.log)"
	"$SEALTRACE" run --config "$CFG" >"$DEMO_DIR/agent.log" 2>&1 &
	agent_pid=$!
	for ((i = 0; i < DEMO_READY_TIMEOUT * 10; i++)); do
		alive "$agent_pid" || { show_log "$DEMO_DIR/agent.log"; die "the agent exited during start"; }
		grep -q ready "$DEMO_DIR/agent.log" 2>/dev/null && break
		sleep 0.1
	done
	if ! grep -q ready "$DEMO_DIR/agent.log" 2>/dev/null; then
		printf '    no "ready" line after %ss; going on anyway\n' "$DEMO_READY_TIMEOUT"
	fi
	printf '    agent pid %s is up\n' "$agent_pid"
}

# One applicant per request, all different, deterministic.
applicant() {
	local i=$1
	printf '{"applicant_id":"A-%05d","age":%d,"annual_income":%d,"loan_amount":%d,"employment_years":%d,"existing_debt":%d}' \
		"$i" $((21 + i * 7 % 50)) $((24000 + i * 3797 % 90000)) \
		$((5000 + i * 1291 % 45000)) $((i * 3 % 25)) $((i * 1733 % 20000))
}

responses=$DEMO_DIR/responses.jsonl
send_requests() {
	local i body out
	step "send $DEMO_REQUESTS requests to $URL/predict"
	: >"$responses"
	for ((i = 1; i <= DEMO_REQUESTS; i++)); do
		body=$(applicant "$i")
		out=$(curl -sS -f --max-time 10 -H 'Content-Type: application/json' \
			--data-binary "$body" "$URL/predict") ||
			die "request $i failed"
		printf '%s\n' "$out" >>"$responses"
		if [ "$i" -le 3 ]; then
			printf '    %s -> %s\n' "$body" "$out"
		fi
	done
	[ "$DEMO_REQUESTS" -le 3 ] || printf '    ... %d more\n' $((DEMO_REQUESTS - 3))
}

stop_agent() {
	step "stop the agent (SIGTERM: it persists what it received, then exits)"
	stop_pid "$agent_pid" 30
	agent_pid=
	agent_status=$stop_status
	[ "$agent_status" -eq 0 ] || show_log "$DEMO_DIR/agent.log"
	printf '    agent exit status %d\n' "$agent_status"
}

stop_server() {
	step "stop the model server"
	stop_pid "$server_pid" 5
	server_pid=
	printf '    %s\n' "$(tail -n 1 "$DEMO_DIR/server.log")"
}

run_verify() {
	step "verify: $SEALTRACE verify --state-dir $STATE --pubkey $KEYS/signing.pub"
	verify_status=0
	"$SEALTRACE" verify --state-dir "$STATE" --pubkey "$KEYS/signing.pub" \
		>"$DEMO_DIR/verify.log" 2>&1 || verify_status=$?
	sed 's/^/    /' "$DEMO_DIR/verify.log"
}

# Inference records in the decision stream (plain gzip segments).
count_records() {
	local segs=("$STATE"/decision/*.seg)
	[ -e "${segs[0]}" ] || { echo 0; return; }
	zcat "${segs[@]}" | grep -c '"event_type":"inference"' || true
}

summary() {
	local records sample fail=0
	records=$(count_records)
	sample=$( (zcat "$STATE"/decision/*.seg 2>/dev/null || true) |
		grep -m 1 '"event_type":"inference"' || true)
	echo
	echo "================ sealtrace demo summary ================"
	printf '  requests sent        %d\n' "$DEMO_REQUESTS"
	printf '  inference records    %d   (decision stream)\n' "$records"
	printf '  agent exit status    %d\n' "$agent_status"
	if [ "$verify_status" -eq 0 ]; then
		printf '  verify               PASS\n'
	else
		printf '  verify               FAIL (exit %d, see %s)\n' "$verify_status" "$DEMO_DIR/verify.log"
	fi
	printf '  config               %s\n' "$CFG"
	printf '  records              %s/{decision,system}/\n' "$STATE"
	printf '  keys                 %s\n' "$KEYS"
	printf '  logs                 %s/{agent,server,verify}.log\n' "$DEMO_DIR"
	if [ -n "$sample" ]; then
		echo "  sample record (decision and score in clear, applicant_id only as a pseudonym):"
		if command -v python3 >/dev/null; then
			printf '%s\n' "$sample" | python3 -m json.tool | sed 's/^/    /'
		else
			printf '    %s\n' "$sample"
		fi
	fi
	echo "========================================================"
	if [ -n "$sample" ] && ! printf '%s\n' "$sample" | grep -q '"decision":{"decision":"[a-z]*","model_version":"credit-demo-v1","score":0\.[0-9]*},"pseudonyms":{"applicant_id":"hmac-sha256:'; then
		echo "run-demo: FAIL: the sample record lacks the decision in clear or the applicant pseudonym" >&2
		fail=1
	fi
	if [ -n "$sample" ] && printf '%s\n' "$sample" | grep -q 'A-0'; then
		echo "run-demo: FAIL: an applicant id is in the log in clear" >&2
		fail=1
	fi
	if [ "$records" -ne "$DEMO_REQUESTS" ]; then
		echo "run-demo: FAIL: $records inference records for $DEMO_REQUESTS requests" >&2
		fail=1
	fi
	[ "$verify_status" -eq 0 ] || { echo "run-demo: FAIL: verify" >&2; fail=1; }
	[ "$agent_status" -eq 0 ] || { echo "run-demo: FAIL: agent exit status $agent_status" >&2; fail=1; }
	[ "$fail" -eq 0 ] && echo "run-demo: OK"
	return "$fail"
}

main() {
	preflight
	mkdir -p "$DEMO_DIR"
	mount_fs
	make_keys
	write_config
	start_server
	start_agent
	send_requests
	stop_agent
	stop_server
	run_verify
	summary
}

main "$@"
