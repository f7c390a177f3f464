#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Regenerate the seed corpora in tests/fuzz/corpus/ from real files: a log
# written by build/tools/gen_log (the agent's record pipeline) with the
# RFC 8032 test key as signing key (the harnesses hold its public half), the
# bundles `sealtrace export` writes from it, the example configs, the
# fetch-args of the unit tests. Run from the repository root after `make`.
set -eu
st=build/sealtrace gen=build/tools/gen_log c=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$st keygen --dir "$tmp/keys" >/dev/null
# RFC 8032 section 7.1 test 1 secret key as PKCS#8
python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' \
	302e020100300506032b6570042204209d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60 |
	openssl pkey -inform DER -out "$tmp/keys/signing.key"
openssl pkey -in "$tmp/keys/signing.key" -pubout -out "$tmp/keys/signing.pub"
$gen --state-dir "$tmp/st" --keys-dir "$tmp/keys" --records 12 --system-every 4 \
	--input-bytes 40 --output-bytes 20 --ckpt-records 5 --seg-records 8 >/dev/null

# regress-* files are inputs that once hung or crashed a parser: kept
find "$c" -type f ! -name 'regress-*' -delete 2>/dev/null || true
mkdir -p "$c/config" "$c/fetcharg" "$c/json" "$c/oversight" "$c/checkpoint" \
	"$c/resume" "$c/bundle" "$c/segment" "$c/hold" "$c/http" "$c/symbols" "$c/addckpt"
for s in decision system; do
	cp "$tmp/st/$s/checkpoint" "$c/checkpoint/$s"
	cp "$tmp/st/$s/resume" "$c/resume/$s"
	# raw segment files (first byte odd) and their blocks in plain text
	# (first byte even, blocks cut at 0xff), see fuzz_segment.c
	for f in "$tmp/st/$s"/*.seg; do
		n=$(basename "$f" .seg | sed 's/^0*//')
		{ printf '\001'; cat "$f"; } >"$c/segment/$s-raw-${n:-0}"
		python3 - "$f" "$c/segment/$s-plain-${n:-0}" <<'PY'
import sys, zlib
data = open(sys.argv[1], 'rb').read()
out = bytearray(b'\x00')
while data:
	d = zlib.decompressobj(31)
	out += d.decompress(data) + b'\xff'
	data = d.unused_data
open(sys.argv[2], 'wb').write(bytes(out[:-1]))
PY
	done
done
# add-checkpoint bodies (the witness's input): from 0, 1, 5 and the size itself
for n in 0 1 5; do
	$st prove --state-dir "$tmp/st" --consistency $n >"$c/addckpt/decision-$n"
done
size=$(sed -n 2p "$tmp/st/decision/checkpoint")
$st prove --state-dir "$tmp/st" --consistency "$size" >"$c/addckpt/decision-same"
$st prove --state-dir "$tmp/st" --stream system --consistency 1 >"$c/addckpt/system-1"
$st export --state-dir "$tmp/st" >"$tmp/all" 2>/dev/null
$st export --state-dir "$tmp/st" --stream system --event-type loss,heartbeat >"$tmp/sys" 2>/dev/null
for b in all sys; do
	{ printf '\001'; cat "$tmp/$b"; } >"$c/bundle/$b-key"
	{ printf '\000'; cat "$tmp/$b"; } >"$c/bundle/$b-nokey"
done
# JSON: one line of each kind (records, meta lines, a status file)
i=0
while IFS= read -r line; do
	i=$((i + 1))
	[ $((i % 3)) -eq 1 ] && printf '%s' "$line" >"$c/json/bundle-$i"
done <"$tmp/all"
printf '{"a":[1,-2,true,false,null,"\\u00e9\\ud83d\\ude00"],"b":{"c":{}},"d":9007199254740991}' >"$c/json/mixed"
cp examples/demo.yaml "$c/config/demo.yaml"
cp deploy/config/llama.yaml "$c/config/llama.yaml"
# an HTTP target as docs/http.md shows it, and the presets
{ awk '/^```yaml/ { n++; next } /^```/ { if (n == 1) exit } n == 1' docs/http.md
  cat <<'EOF'
  - name: llm
    exe: llama-server
    http: {ports: [8081, 8443], preset: openai, ringbuf_bytes: 4194304}
  - name: triton
    exe: tritonserver
    http:
      ports: [8000]
      preset: open-inference
      decision: {clear: {label: "response:/outputs/0/data/0"}, max_string: 64}
model_globs: []
EOF
} >"$c/config/http.yaml"
i=0
for fa in '%di' '%si:u32' '+0(%di):string' '+16(%sp)' '+8(%sp):s32' '-8(%bp)' \
	'+0(+8(%ax)):u32' '$arg1' '+16($arg1):string' '$retval' '+0($retval):string' \
	'$stack' '$0x40' '@sym' '%di:b4@0/32' '%di:u8[4]' '%dx:s32' '+1(+2(+3(%r12)))'; do
	i=$((i + 1))
	printf '%s' "$fa" >"$c/fetcharg/$i"
done
printf '{"event_id":"0190c7a2-1b2c-7d3e-8f40-123456789abc","override":true,"actor":"dr. a","note":"checked \\u00e9"}\n' >"$c/oversight/oversight"
printf '{"type":"log_access","action":"export","filter":"--stream decision --from 2025-01-01"}\n' >"$c/oversight/access"
printf 'from: 2025-01-01T00:00:00Z\nto: 2025-03-31\ncase 2025-17: litigation\n' >"$c/hold/range"
printf 'all\nregulator request\n' >"$c/hold/all"
printf '2025-06-30T14:00:00.5+02:00' >"$c/hold/time"
# HTTP exchanges as wire events (layout in fuzz_http.c): keep-alive with
# JSON decisions, pipelined, chunked/SSE, 100 Continue, a gap, HTTP/2
python3 - "$c/http" <<'PY'
import struct, sys
OPEN, IN, OUT, CLOSE, SENDFILE, HOLE_IN, HOLE_OUT, END = range(8)
def ev(kind, conn, data=b"", n=None):
	return struct.pack("<BBH", kind, conn, len(data) if n is None else n) + data
def post(path, body):
	return b"POST %s HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (path, len(body), body)
def resp(body, extra=b""):
	return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s" % (extra, len(body), body)
req = post(b"/score?x=1", b'{"applicant_id":"A-00017","a/b":{"~":"t"},"income":52000}')
ans = resp(b'{"approve":true,"score":0.8125,"model":"scorer-v3","outputs":[{"data":[0.5]}]}')
chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	   b"7\r\ndata: 1\r\n7\r\ndata: 2\r\n0\r\n\r\n")
seeds = {
	"keepalive": ev(OPEN, 0) + ev(IN, 0, req) + ev(OUT, 0, ans[:40]) + ev(OUT, 0, ans[40:])
		+ ev(IN, 0, req) + ev(OUT, 0, ans) + ev(CLOSE, 0),
	"pipelined": ev(OPEN, 1) + ev(IN, 1, req + req) + ev(OUT, 1, ans + ans) + ev(END, 1),
	"chunked": ev(OPEN, 2) + ev(IN, 2, post(b"/v1/chat/completions", b'{"stream":true}'))
		+ ev(OUT, 2, chunked) + ev(CLOSE, 2),
	"continue": ev(OPEN, 3) + ev(IN, 3, req.replace(b"Host: s", b"Expect: 100-continue"))
		+ ev(OUT, 3, b"HTTP/1.1 100 Continue\r\n\r\n") + ev(OUT, 3, ans) + ev(CLOSE, 3),
	"gap": ev(OPEN, 0) + ev(IN, 0, req[:30]) + ev(IN | 8, 0, req[30:]) + ev(HOLE_OUT, 0, n=500)
		+ ev(IN, 0, req) + ev(SENDFILE, 0, n=64) + ev(OUT, 0, ans),
	"midstream": ev(IN | 16, 1, req[20:]) + ev(IN | 16, 1, req) + ev(OUT | 16, 1, ans),
	"http2": ev(OPEN, 2) + ev(IN, 2, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + ev(CLOSE, 2),
}
for name, data in seeds.items():
	open("%s/%s" % (sys.argv[1], name), "wb").write(data)
PY
# small real ELF files: with symbols (endbr64 at the function), stripped,
# a shared object, a static one without libc
printf 'int st_predict(int x) { return x * 3 + 1; }\nint main(int c, char **v) { (void)v; return st_predict(c); }\n' >"$tmp/t.c"
printf 'int st_predict(int x) { return x * 3 + 1; }\nvoid _start(void) { st_predict(1); for (;;) ; }\n' >"$tmp/s.c"
small="-O1 -fcf-protection=full -Wl,--build-id -Wl,-z,noseparate-code -Wl,-z,max-page-size=0x1000"
gcc $small -o "$c/symbols/exe" "$tmp/t.c" && strip --strip-debug "$c/symbols/exe"
strip -o "$c/symbols/exe-stripped" "$c/symbols/exe"
gcc $small -shared -fPIC -o "$c/symbols/lib.so" "$tmp/t.c" && strip --strip-debug "$c/symbols/lib.so"
gcc $small -nostdlib -static -o "$c/symbols/static" "$tmp/s.c"
echo "seeds: $(find "$c" -type f | wc -l) files in $c"
