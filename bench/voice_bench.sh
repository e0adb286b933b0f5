#!/usr/bin/env bash
# Voice: calls per second through the whole edge, against the same Kamailio
# with a static route, and REGISTERs per second with authentication.
#
#   full    sipp UAC (a device on 127.0.0.1: digest auth on 407, From = the
#           user's number, SDP) -> Kamailio of `ringhouse up` -> POST
#           /internal/sip/route (ringhouse: rules, rating, a ledger hold, the
#           call row) -> rtpengine offer/answer -> sipp UAS (the trunk,
#           127.0.0.2) -> 200, ACK, hold, BYE; the dialog events "answered"
#           and "ended" go to ringhouse (CDR, the hold settled)
#   static  the same Kamailio config, rendered by `ringhouse edge-config` for
#           other ports beside it, with the route request replaced by the
#           same answer built in the config and the event posts dropped
#           (bench/voice/static_route.cfg, bench/voice/README.md); auth
#           (challenge, HA1 from ringhouse, cached) and rtpengine unchanged
#   register  sipp UAC: REGISTER, 401, REGISTER with digest credentials,
#           200, over many devices in turn (-inf); each one is reported to
#           ringhouse (POST /internal/sip/events "registered")
# Each offered rate runs the two edges back to back (same background load).
# Offered: sipp -r RATE for RATE x SECONDS calls (at most 80 % of the calls
# rtpengine has ports and file descriptors for: it keeps them 30 s after each
# call, so runs wait for it and the highest rates run shorter), at most
# 4 x RATE + 200 at once (-l). Achieved CPS = answered calls / (first 200 ->
# last 200). A run achieving less than half its offered rate has collapsed:
# that edge's higher rates are not run. Failed = sipp's failed calls (any
# error reply, a 10 s receive timeout, an unexpected message) plus calls
# never completed. Takes 4 to 9 minutes.
#
#   bench/voice_bench.sh [--rates 100,200,400,800,1000,1500,2000]
#                        [--reg-rates 250,500,1000,2000,3000] [--seconds 5]
#                        [--hold-ms 1000] [--users 40] [--devices 5]
#                        [--children 32] [--only full,static,register]
#                        [--set KEY=VALUE]... [--profile] [--bin PATH] [--no-build]
#                        [--keep]
#
#   --rates LIST      offered call rates (sipp -r), each for --seconds
#   --reg-rates LIST  offered REGISTER rates
#   --seconds S       length of each offered run (calls = rate x S)
#   --hold-ms MS      how long each answered call lasts before the BYE
#   --users U         ringhouse users, each with a number on trunk1, a
#                     balance, and --devices SIP credentials; calls and
#                     REGISTERs go through the U x D devices in turn
#   --children C      voice.edge_children (Kamailio's UDP workers) for both
#                     edges
#   --only LIST       full, static, register (default: all three)
#   --set KEY=VALUE   extra ringhouse setting (repeatable)
#   --profile         also `perf record` Kamailio, rtpengine and ringhouse during
#                     each run (perf-*.txt in each run's directory; --keep)
#   --bin PATH        measure this ringhouse binary (implies --no-build)
#   --no-build        do not run cmake (build/release/ringhouse must exist)
#   --no-deps         skip scripts/install-deps.sh bench
#   --keep            keep the work directory (logs, sipp statistics)
#
# Loopback only (127.0.0.1 device side, 127.0.0.2 trunk). Progress goes to
# stderr, the Markdown report to stdout. Nothing is written to
# bench/RESULTS.md. Needs sipp, kamailio, rtpengine, python3, curl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATES=100,200,400,800,1000,1500,2000
REG_RATES=250,500,1000,2000,3000
SECS=5
HOLD_MS=1000
USERS=40
DEVICES=5
CHILDREN=32
ONLY=full,static,register
EXTRA_SETS=()
BIN=""
PROFILE=0
BUILD_IT=1
KEEP=0
DOMAIN=voice.bench
DIALLED=+13105551234
UAS_IP=127.0.0.2

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-2}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) RATES=$2; shift 2 ;;
    --reg-rates) REG_RATES=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --hold-ms) HOLD_MS=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --devices) DEVICES=$2; shift 2 ;;
    --children) CHILDREN=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --set) EXTRA_SETS+=(--set "$2"); shift 2 ;;
    --profile) PROFILE=1; shift ;;
    --bin) BIN=$2; BUILD_IT=0; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    --no-deps) DEPS=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "voice_bench: unknown option $1" >&2; usage 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
log() { echo "[voice_bench] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
IFS=',' read -r -a RATE_LIST <<<"$RATES"
IFS=',' read -r -a REG_RATE_LIST <<<"$REG_RATES"
[ "$DEVICES" -le 100 ] || die "--devices is at most 100 (voice.max_credentials)"
if [ "${DEPS:-1}" -eq 1 ]; then
  log "dependencies (scripts/install-deps.sh bench)"
  bash "$ROOT/scripts/install-deps.sh" bench >&2 || die "scripts/install-deps.sh bench failed"
fi
for p in sipp python3 curl; do command -v "$p" >/dev/null || die "$p is not installed"; done
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
[ -x "$KAMAILIO" ] || die "kamailio is not installed (scripts/install-deps.sh test)"
command -v rtpengine >/dev/null || [ -x /usr/sbin/rtpengine ] || die "rtpengine is not installed"

# rtpengine needs a file descriptor per RTP/RTCP port (4 per call, kept 30 s
# after the call): give the processes started here the open-file limit the
# systemd units of docs/sip-edge.md set (LimitNOFILE=65536), when allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d /tmp/voice-bench.XXXXXX)
STARTED=()          # pids of everything this script started (stopped by the trap)
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]; }
stop_pid() {
  local pid=$1 _ p keep=()
  # Forget it first, so that the EXIT trap never signals a reused pid.
  for p in ${STARTED[@]+"${STARTED[@]}"}; do [ "$p" = "$pid" ] || keep+=("$p"); done
  STARTED=(${keep[@]+"${keep[@]}"})
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? p i
  # In reverse order: the static edge and the UAC before ringhouse up (which
  # stops its own Kamailio and rtpengine), the UAS last.
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[$i]}"; done
  if [ "$rc" -eq 0 ] && [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else log "work directory kept: $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ build
if [ "$BUILD_IT" -eq 1 ]; then
  log "building the release binary (cmake --preset release; cmake --build --preset release)"
  (cd "$ROOT" && cmake --preset release >/dev/null && cmake --build --preset release -j2 >&2)
fi
BIN=${BIN:-$ROOT/build/release/ringhouse}
[ -x "$BIN" ] || die "$BIN is not built"

# ---------------------------------------------------------------- helpers
HZ=$(getconf CLK_TCK)
# free_ports N: N distinct ports free for TCP and UDP on 127.0.0.1 and .2,
# below rtpengine's range (10000-65000) and away from sipp's media port 6000.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
out, held = [], []
while len(out) < int(sys.argv[1]):
    p = random.randint(5100, 9999)
    if 5990 <= p <= 6020 or p in out:
        continue
    try:
        for ip in ("127.0.0.1", "127.0.0.2"):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                u = socket.socket(socket.AF_INET, kind); held.append(u); u.bind((ip, p))
        out.append(p)
    except OSError:
        pass
print(" ".join(map(str, out)))
PY
}
# rtp_sessions: the calls rtpengine holds now (ng "statistics"), or -1.
rtp_sessions() {
  python3 - "$NG_PORT" <<'PY' 2>/dev/null || echo -1
import os, socket, sys
def enc(x):
    if isinstance(x, dict):
        return b"d" + b"".join(enc(k) + enc(v) for k, v in sorted(x.items())) + b"e"
    x = x.encode() if isinstance(x, str) else x
    return str(len(x)).encode() + b":" + x
def dec(b, i=0):
    c = b[i:i + 1]
    if c == b"d":
        i, d = i + 1, {}
        while b[i:i + 1] != b"e":
            k, i = dec(b, i); v, i = dec(b, i); d[k.decode()] = v
        return d, i + 1
    if c == b"l":
        i, l = i + 1, []
        while b[i:i + 1] != b"e":
            v, i = dec(b, i); l.append(v)
        return l, i + 1
    if c == b"i":
        j = b.index(b"e", i); return int(b[i + 1:j]), j + 1
    j = b.index(b":", i); n = int(b[i:j]); return b[j + 1:j + 1 + n], j + 1 + n
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
cookie = os.urandom(6).hex().encode()
s.sendto(cookie + b" " + enc({"command": "statistics"}), ("127.0.0.1", int(sys.argv[1])))
data = s.recv(1 << 22)
r, _ = dec(data[data.index(b" ") + 1:])
cur = r["statistics"]["currentstatistics"]
print(int(cur.get("sessionstotal", cur.get("sessionsown", 0))))
PY
}
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$until" ] || return 1
    sleep 0.2
  done
}
# sip_options PORT: true when a SIP OPTIONS to 127.0.0.1:PORT gets an answer.
sip_options() {
  python3 - "$1" "$DOMAIN" <<'PY'
import socket, sys
port, dom = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(0.5)
lp = s.getsockname()[1]
m = (f"OPTIONS sip:{dom} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-vb{lp}\r\n"
     f"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:{dom}>\r\n"
     f"Call-ID: vb-ready-{lp}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
s.sendto(m.encode(), ("127.0.0.1", port))
s.recv(4096)
PY
}
# children_of PID: the pids of PID's direct children.
children_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }
# ticks PID...: user+system clock ticks of these processes.
ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
# col FILE NAME: the value of column NAME in the last line of a sipp stat CSV.
col() {
  awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next } { v = $c } END { print v + 0 }' "$1"
}
# rtt_summary FILE: "answered first_ms last_ms avg p50 p99" of a sipp rtt CSV.
rtt_summary() {
  awk -F';' 'NR > 1 && $3 == 1 { n++; t[n] = $2; s += $2; if (n == 1) f = $1; l = $1 }
    END { if (n == 0) { print "0 0 0 0 0 0"; exit }
          asort(t); p50 = t[int((n - 1) * 0.50) + 1]; p99 = t[int((n - 1) * 0.99) + 1]
          printf "%d %s %s %.1f %s %s\n", n, f, l, s / n, p50, p99 }' "$1"
}
# hook_stats FROM_LINE PATH: "count avg_ms p50 p99 max" of an /internal/sip path
# in the access log after line FROM_LINE.
hook_stats() {
  tail -n +"$(($1 + 1))" "$ACCESS_LOG" 2>/dev/null |
    awk -v p="$2" '{ for (i = 1; i <= NF; i++) if ($i ~ /^\/internal\/sip\// ) { split($i, a, "?"); if (a[1] != p) next;
        for (j = i + 1; j <= NF; j++) if ($j ~ /ms$/) { v = $j; sub(/ms$/, "", v); n++; t[n] = v + 0; s += v; break } } }
      END { if (n == 0) { print "0 - - - -"; exit }
            asort(t); printf "%d %.2f %.2f %.2f %.1f\n", n, s / n, t[int((n - 1) * 0.5) + 1], t[int((n - 1) * 0.99) + 1], t[n] }'
}
access_lines() { [ -f "$ACCESS_LOG" ] && wc -l <"$ACCESS_LOG" || echo 0; }

read -r SIP_PORT TLS_PORT WS_PORT WSS_PORT RPC_PORT NG_PORT UAS_PORT UAC_PORT \
  S_SIP_PORT S_TLS_PORT S_WS_PORT S_WSS_PORT S_RPC_PORT <<<"$(free_ports 13)"
DATA="$WORK/data"
ACCESS_LOG="$WORK/access.log"

# ------------------------------------------------------- the trunk (UAS)
log "starting the trunk: sipp UAS on $UAS_IP:$UAS_PORT"
mkdir -p "$WORK/uas"
(cd "$WORK/uas" && exec sipp -sf "$ROOT/bench/voice/uas.xml" -i "$UAS_IP" -p "$UAS_PORT" \
  -mi "$UAS_IP" -nostdin -trace_err -error_file "$WORK/uas/errors.log" \
  -trace_stat -stf "$WORK/uas/stat.csv" -fd 5 >"$WORK/uas/out.log" 2>&1) &
UAS_PID=$!
STARTED+=("$UAS_PID")
sleep 0.5
alive "$UAS_PID" || die "the sipp UAS did not start: $(cat "$WORK/uas/out.log")"

# ------------------------------------------------------- ringhouse up
RH_ARGS=(--data-dir "$DATA"
  --set http.address=127.0.0.1 --set "log.access_log=$ACCESS_LOG" --set auth.access_token_ttl_s=3600
  --set "voice.sip_domain=$DOMAIN" --set voice.allowed_countries=US
  --set "voice.trunks=sip://$UAS_IP:$UAS_PORT?name=trunk1&addresses=$UAS_IP"
  --set voice.rtp_port_min=10000 --set voice.rtp_port_max=65000
  --set "voice.edge_children=$CHILDREN" --set voice.pike_density=100000
  --set voice.max_concurrent_calls=1000 --set voice.max_call_s=60
  --set "voice.max_credentials=$DEVICES"
  ${EXTRA_SETS[@]+"${EXTRA_SETS[@]}"})
PORT_ARGS=(--set "voice.sip_port=$SIP_PORT" --set "voice.tls_port=$TLS_PORT" --set "voice.ws_port=$WS_PORT"
  --set "voice.wss_port=$WSS_PORT" --set "voice.rpc_port=$RPC_PORT" --set "voice.rtpengine_port=$NG_PORT")
log "starting ringhouse up (SQLite in $DATA, SIP on 127.0.0.1:$SIP_PORT, $CHILDREN Kamailio children)"
"$BIN" up "${RH_ARGS[@]}" "${PORT_ARGS[@]}" --http-port 0 >"$WORK/up.log" 2>&1 &
UP_PID=$!
STARTED+=("$UP_PID")
wait_for 60 test -s "$DATA/run/http.json" || die "ringhouse did not start (see $WORK/up.log)"
API_PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$DATA/run/http.json")
API="http://127.0.0.1:$API_PORT"
OP=$(cat "$DATA/secrets/operator-token")
wait_for 60 sip_options "$SIP_PORT" || die "Kamailio does not answer on $SIP_PORT (see $WORK/up.log)"
RH_PID="" K_PID="" RTP_PID=""
for p in $(children_of "$UP_PID"); do
  case " $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
    *" serve "*) RH_PID=$p ;;
    *kamailio*) K_PID=$p ;;
    *rtpengine*) RTP_PID=$p ;;
  esac
done
[ -n "$RH_PID" ] && [ -n "$K_PID" ] && [ -n "$RTP_PID" ] || die "cannot find the children of ringhouse up"
log "ringhouse serve $RH_PID (API $API), kamailio $K_PID, rtpengine $RTP_PID"

# ---------------------------------------------------- users and devices
api() {  # api METHOD PATH TOKEN [BODY [CONTENT-TYPE]] -> body; fails on non-2xx
  local out code
  out=$(curl -s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $3" -H 'Host: localhost' \
    -H "Content-Type: ${5:-application/json}" -H "Idempotency-Key: vb-$RANDOM$RANDOM" \
    ${4:+--data-binary "$4"} "$API$2")
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ "$code" == 2* ]] || { log "$1 $2 -> $code $out"; return 1; }
  echo "$out"
}
jfield() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
TENANT=$(api GET /v1/admin/tenants "$OP" | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin)["data"] if t["is_default"]][0])')
log "setting up: rate deck, $USERS users with a number each and $DEVICES devices each"
api POST "/v1/admin/rate-decks?name=Voice&tenant_id=$TENANT" "$OP" \
  $'prefix,description,per_minute,increment,sms,mms\n1,US,0.60,1/1,0.01,0.02\n' text/csv >/dev/null ||
  die "rate deck"
{ echo "number,trunk,messaging_route,features,monthly_price,upfront_price"
  for i in $(seq 0 $((USERS - 1))); do printf '+1212555%04d,trunk1,smpp-a,sms;mms;voice,0,0\n' "$((1000 + i))"; done
} >"$WORK/dids.csv"
api POST "/v1/admin/numbers/import?tenant_id=$TENANT" "$OP" "$(cat "$WORK/dids.csv")" text/csv >/dev/null ||
  die "number import"
CREDS="$WORK/devices.csv"   # username;number;[authentication username=U password=P]
echo SEQUENTIAL >"$CREDS"
chmod 600 "$CREDS"
for i in $(seq 0 $((USERS - 1))); do
  email="caller$i@bench.example"
  pw="bench password $i $RANDOM$RANDOM"
  uid=$(echo "$pw" | "$BIN" admin create-user --email "$email" --password-stdin "${RH_ARGS[@]}" 2>>"$WORK/admin.log" |
    sed -n 's/.*"id":"\(usr_[^"]*\)".*/\1/p')
  [ -n "$uid" ] || die "create-user $email (see $WORK/admin.log)"
  api POST "/v1/admin/users/$uid/balance-adjustments" "$OP" '{"amount":"100000.00","reason":"voice bench"}' >/dev/null ||
    die "credit"
  token=$(curl -s -H 'Content-Type: application/json' -H 'Host: localhost' \
    -d "{\"email\":\"$email\",\"password\":\"$pw\"}" "$API/v1/auth/login" | jfield access_token) || die "login"
  number=$(printf '+1212555%04d' "$((1000 + i))")
  api POST /v1/numbers "$token" "{\"phone_number\":\"$number\"}" >/dev/null || die "purchase of $number"
  for d in $(seq 1 "$DEVICES"); do
    api POST /v1/sip-credentials "$token" "{\"label\":\"bench $d\"}" |
      python3 -c 'import json,sys; c=json.load(sys.stdin); u = c["username"]; print(u + ";" + sys.argv[1] + ";[authentication username=" + u + " password=" + c["password"] + "]")' "$number" \
      >>"$CREDS" || die "sip-credentials"
  done
done
NDEV=$(($(wc -l <"$CREDS") - 1))
log "$NDEV devices"
# For REGISTER: the same devices, username;[authentication ...].
cut -d';' -f1,3 "$CREDS" >"$WORK/registrations.csv"

# ------------------------------------------------------ the static edge
S_PID=""
if want static; then
  SDIR="$WORK/static-edge"
  mkdir -p "$SDIR"
  "$BIN" edge-config "${RH_ARGS[@]}" --http-port "$API_PORT" --out "$SDIR" \
    --set "voice.sip_port=$S_SIP_PORT" --set "voice.tls_port=$S_TLS_PORT" --set "voice.ws_port=$S_WS_PORT" \
    --set "voice.wss_port=$S_WSS_PORT" --set "voice.rpc_port=$S_RPC_PORT" --set "voice.rtpengine_port=$NG_PORT" \
    >"$SDIR/edge-config.out" 2>&1 || die "ringhouse edge-config (see $SDIR/edge-config.out)"
  sed -e "s|@UAS_HOST@|$UAS_IP|g; s|@UAS_PORT@|$UAS_PORT|g; s|@SIP_DOMAIN@|$DOMAIN|g" \
    "$ROOT/bench/voice/static_route.cfg" >"$SDIR/static_route.cfg"
  # The two hook requests of the call path, each a one-line statement.
  awk -v snippet="$SDIR/static_route.cfg" '
    /http_connect\("rh", "\/route"/ {
      while ((getline l < snippet) > 0) print l
      routes++; next }
    /http_connect\("rh", "\/events"/ {
      print "\t$var(erc) = 204;   # bench: the event is not sent"; events++; next }
    { print }
    END { if (routes != 1 || events != 1) { print "expected one route and one events request, found " routes + 0 " and " events + 0 > "/dev/stderr"; exit 1 } }
  ' "$SDIR/kamailio.cfg" >"$SDIR/kamailio-static.cfg" || die "cannot derive the static-route config"
  diff -u "$SDIR/kamailio.cfg" "$SDIR/kamailio-static.cfg" >"$SDIR/static.diff" || true
  "$KAMAILIO" -c -f "$SDIR/kamailio-static.cfg" >"$SDIR/check.log" 2>&1 ||
    die "kamailio -c refuses the static config (see $SDIR/check.log)"
  log "starting the static-route Kamailio on 127.0.0.1:$S_SIP_PORT (same rtpengine)"
  # The same memory and memory managers as the Kamailio `ringhouse up` runs
  # (voice.edge_shm_mb; src/voice/edge_config.cpp kamailio_argv).
  SHM_MB=$("$BIN" config --show "${RH_ARGS[@]}" 2>/dev/null | awk '$1 == "edge_shm_mb" { print $3 }')
  [ -n "$SHM_MB" ] || SHM_MB=256
  "$KAMAILIO" -DD -E -f "$SDIR/kamailio-static.cfg" -P "$SDIR/kamailio.pid" -Y "$SDIR" -w "$SDIR" \
    -m "$SHM_MB" -M 16 -x tlsf -X tlsf >"$SDIR/kamailio.log" 2>&1 &
  S_PID=$!
  STARTED+=("$S_PID")
  wait_for 30 sip_options "$S_SIP_PORT" || die "the static Kamailio does not answer (see $SDIR/kamailio.log)"
fi

# ------------------------------------------------------------ the runs
# Process groups whose CPU is reported, as "name:pid pid ...".
groups_now() {
  local kam s=""
  kam="$K_PID $(children_of "$K_PID" | tr '\n' ' ')"
  [ -n "$S_PID" ] && s="$S_PID $(children_of "$S_PID" | tr '\n' ' ')"
  echo "ringhouse:$RH_PID|kamailio:$kam $s|rtpengine:$RTP_PID|uas:$UAS_PID"
}
declare -A ROW=() ACH=() FAILS=()
CALL_ROWS=() CPU_ROWS=() HOOK_ROWS=() REG_ROWS=()

# rtpengine keeps a call's 4 ports (RTP and RTCP on both sides) for its
# --delete-delay (30 s, rtpengine's default: `ringhouse up` does not set it)
# after the delete, 60 s when a failed call was never deleted) and a file
# descriptor for each: before each call run, wait until the calls it still
# holds leave room for the run's calls.
RTP_NOFILE=$(awk '/^Max open files/ { print $4 }' "/proc/$RTP_PID/limits")
RTP_CAP=$(((65000 - 10000 + 1) / 4))
[ $(((RTP_NOFILE - 100) / 4)) -lt "$RTP_CAP" ] && RTP_CAP=$(((RTP_NOFILE - 100) / 4))
log "rtpengine: open files limit $RTP_NOFILE, room for $RTP_CAP calls (ports held 30 s after each call)"
WAITED=0
room_for() {  # room_for CALLS
  local n=$1 s t0=$SECONDS
  while :; do
    s=$(rtp_sessions)
    [ "$s" -ge 0 ] || { log "cannot ask rtpengine for its sessions"; sleep 5; break; }
    [ $((s + n)) -gt $((RTP_CAP * 9 / 10)) ] || break
    [ $((SECONDS - t0)) -lt 75 ] || { log "rtpengine still holds $s calls after 75 s"; break; }
    sleep 2
  done
  [ $((SECONDS - t0)) -lt 3 ] || log "waited $((SECONDS - t0)) s for rtpengine to free ports ($s calls held)"
  WAITED=$((WAITED + SECONDS - t0))
}

# run_sipp KIND NAME PORT RATE COUNT: one measured sipp UAC run; sets R_* vars.
run_sipp() {
  local kind=$1 name=$2 port=$3 rate=$4 count=$5
  local dir="$WORK/$name" limit=$((rate * 4 + 200)) scen inf extra=()
  mkdir -p "$dir"
  if [ "$kind" = call ]; then
    room_for "$count"
    scen="$ROOT/bench/voice/uac_call_auth.xml"; inf=$CREDS; extra=(-s "$DIALLED" -d "$HOLD_MS")
  else
    scen="$ROOT/bench/voice/register_auth.xml"; inf="$WORK/registrations.csv"; limit=$((rate * 2 + 100))
  fi
  local groups g names=() pids=() t0=() i a0 l0 w0 w1
  IFS='|' read -r -a groups <<<"$(groups_now)"
  for g in "${groups[@]}"; do names+=("${g%%:*}"); pids+=("${g#*:}"); done
  for i in "${!pids[@]}"; do t0[$i]=$(ticks ${pids[$i]}); done
  a0=$(access_lines)
  l0=$(cut -d' ' -f1 /proc/loadavg)
  local perf_pid=""
  if [ "$PROFILE" -eq 1 ] && command -v perf >/dev/null; then
    perf record -F 499 -g -o "$dir/perf.data" -p "$(echo ${pids[*]} | tr -s ' ' ',')" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.3
  fi
  w0=$(date +%s.%N)
  (cd "$dir" && /usr/bin/time -f '%U %S' -o "$dir/time.txt" \
    sipp -sf "$scen" -inf "$inf" -i 127.0.0.1 -p "$UAC_PORT" -mi 127.0.0.1 "127.0.0.1:$port" \
      -key sip_domain "$DOMAIN" "${extra[@]}" -m "$count" -r "$rate" -rp 1000 -l "$limit" \
      -nostdin -recv_timeout 10000 -timeout "$((count / rate + 40))" -timeout_error \
      -trace_stat -stf "$dir/stat.csv" -fd 1 -trace_rtt -rtt_freq 1 \
      -trace_err -error_file "$dir/errors.log" -trace_screen -screen_file "$dir/screen.log" \
      >"$dir/out.log" 2>&1) || true
  w1=$(date +%s.%N)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$dir/perf.data" --no-children --sort comm,dso --stdio >"$dir/perf-dso.txt" 2>/dev/null || true
    perf report -i "$dir/perf.data" --no-children --sort comm,dso,sym --percent-limit 0.7 --stdio -g none \
      >"$dir/perf-sym.txt" 2>/dev/null || true
  fi
  sleep 1   # let the last events reach ringhouse before the CPU snapshot
  local wall cpu_cells="" c sipp_s
  wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')
  for i in "${!pids[@]}"; do
    c=$(awk -v d=$(($(ticks ${pids[$i]}) - t0[$i])) -v hz="$HZ" -v w="$wall" 'BEGIN { printf "%.2f", d / hz / w }')
    cpu_cells+=" $c |"
  done
  sipp_s=$(tail -1 "$dir/time.txt" 2>/dev/null | awk '{ print $1 + $2 }')
  cpu_cells+=" $(awk -v s="$sipp_s" -v w="$wall" 'BEGIN { printf "%.2f", s / w }') |"
  local rtt ok failed retrans ans first last avg p50 p99 ach
  rtt=$( (cat "$dir"/*_rtt.csv 2>/dev/null || true) | rtt_summary /dev/stdin)
  read -r ans first last avg p50 p99 <<<"$rtt"
  ok=$(col "$dir/stat.csv" 'SuccessfulCall(C)')
  failed=$(col "$dir/stat.csv" 'FailedCall(C)')
  retrans=$(col "$dir/stat.csv" 'Retransmissions(C)')
  # Calls never started or never finished (sipp stopped by -timeout) count
  # as failed too.
  [ $((count - ok - failed)) -gt 0 ] && failed=$((count - ok))
  ach=$(awk -v n="$ans" -v f="$first" -v l="$last" 'BEGIN { printf "%.0f", (l > f && n > 1) ? (n - 1) * 1000 / (l - f) : 0 }')
  R_ACH=$ach R_FAILED=$failed
  R_LINE="$ach | $ok | $failed | $retrans | $avg | $p50 | $p99 |"
  R_CPU="$cpu_cells"
  R_LOAD=$l0
  R_ACCESS0=$a0
  R_WALL=$wall
  log "$name: offered $rate/s x $count: achieved $ach/s, ok $ok, failed $failed, retrans $retrans, setup avg $avg p50 $p50 p99 $p99 ms (wall ${wall}s)"
}

CPU_HEAD="| ringhouse | Kamailio (all processes) | rtpengine | sipp UAS | sipp UAC |"
hooks_row() {  # hooks_row NAME FROM_LINE
  local p s n avg p50 p99 max
  local row="| $1 |"
  for p in route events auth; do
    s=$(hook_stats "$2" "/internal/sip/$p")
    read -r n avg p50 p99 max <<<"$s"
    row+=" $n | $avg / $p50 / $p99 / $max |"
  done
  HOOK_ROWS+=("$row")
}

# Warm-up: every device once on each edge (HA1 caches, SQLite pages).
warm() {
  log "warm-up: $NDEV calls on $1"
  run_sipp call "warm-$1" "$2" 100 "$NDEV" >/dev/null
  [ "$R_FAILED" -eq 0 ] || log "warm-up on $1: $R_FAILED failed calls (see $WORK/warm-$1)"
}
want full && warm full "$SIP_PORT"
want static && warm static "$S_SIP_PORT"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# A run that achieves less than half its offered rate has collapsed (UDP
# retransmissions feeding the overload): higher rates are not run for that
# edge (they only collapse further and take a minute each).
declare -A COLLAPSED=()
collapsed() { [ $((R_ACH * 2)) -lt "$1" ]; }
for r in "${RATE_LIST[@]}"; do
  n=$((r * SECS))
  # At most 80 % of what rtpengine has room for: higher rates run shorter.
  [ "$n" -le $((RTP_CAP * 8 / 10)) ] || n=$((RTP_CAP * 8 / 10))
  for v in full static; do
    want "$v" || continue
    if [ -n "${COLLAPSED[$v]:-}" ]; then
      CALL_ROWS+=("| $v | $r | — | not run: collapsed at ${COLLAPSED[$v]}/s | | | | | | | |")
      continue
    fi
    port=$SIP_PORT
    [ "$v" = static ] && port=$S_SIP_PORT
    run_sipp call "calls-$v-$r" "$port" "$r" "$n"
    ACH[$v-$r]=$R_ACH
    FAILS[$v-$r]=$R_FAILED
    CALL_ROWS+=("| $v | $r | $n | $R_LINE $R_LOAD |")
    CPU_ROWS+=("| $v | $r | $R_WALL |$R_CPU")
    [ "$v" = full ] && hooks_row "calls $r/s" "$R_ACCESS0"
    collapsed "$r" && COLLAPSED[$v]=$r
    sleep 1
  done
done

if want register; then
  for r in "${REG_RATE_LIST[@]}"; do
    n=$((r * SECS))
    if [ -n "${COLLAPSED[reg]:-}" ]; then
      REG_ROWS+=("| $r | — | not run: collapsed at ${COLLAPSED[reg]}/s | | | | | | | |")
      continue
    fi
    run_sipp register "register-$r" "$SIP_PORT" "$r" "$n"
    ACH[reg-$r]=$R_ACH
    FAILS[reg-$r]=$R_FAILED
    REG_ROWS+=("| $r | $n | $R_LINE $R_LOAD |")
    CPU_ROWS+=("| register | $r | $R_WALL |$R_CPU")
    hooks_row "REGISTER $r/s" "$R_ACCESS0"
    collapsed "$r" && COLLAPSED[reg]=$r
    sleep 1
  done
fi

# ---------------------------------------------------------------- report
best() {  # best PREFIX LIST: the highest offered rate held (0 failures, achieved >= 95 %)
  local r b="none" a="-"
  local -n list=$2
  for r in "${list[@]}"; do
    [ -n "${FAILS[$1-$r]:-}" ] || continue
    if [ "${FAILS[$1-$r]}" -eq 0 ] && [ $((ACH[$1-$r] * 100)) -ge $((r * 95)) ]; then b=$r; a=${ACH[$1-$r]}; fi
  done
  echo "$b $a"
}
echo "## Voice: calls/s and REGISTER/s ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $LOAD_START at the start)"
echo
echo "Command: \`bash bench/voice_bench.sh --rates $RATES --reg-rates $REG_RATES --seconds $SECS --hold-ms $HOLD_MS --users $USERS --devices $DEVICES --children $CHILDREN --only $ONLY${EXTRA_SETS[*]+ ${EXTRA_SETS[*]}}\`"
echo
echo "ringhouse \`$("$BIN" version 2>/dev/null | head -1)\`, $("$KAMAILIO" -v 2>/dev/null | head -1 | sed 's/^version: //'), rtpengine $(dpkg-query -W -f='${Version}' rtpengine-daemon 2>/dev/null || echo '?'), $(sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' | head -1); $NDEV devices of $USERS users; calls held ${HOLD_MS} ms; voice.edge_children=$CHILDREN; rtpengine's open-file limit $RTP_NOFILE (room for $RTP_CAP calls of ports: the runs waited $WAITED s in all for it to free the ports of earlier calls, kept 30 s after each)."
echo
if [ "${#CALL_ROWS[@]}" -gt 0 ]; then
  echo "### Calls (achieved = answered / first→last 200; setup = first INVITE → 200, through the 407)"
  echo
  echo "| edge | offered/s | calls | **achieved/s** | answered | failed | retransmissions | setup avg ms | p50 | p99 | load |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for row in "${CALL_ROWS[@]}"; do echo "$row"; done
  echo
  if want full && want static; then
    echo "| offered/s | full ÷ static (achieved) |"
    echo "|---|---|"
    for r in "${RATE_LIST[@]}"; do
      echo "| $r | $(awk -v a="${ACH[full-$r]:-}" -v b="${ACH[static-$r]:-}" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "—" }') |"
    done
    echo
  fi
  for v in full static; do
    want "$v" || continue
    read -r b a <<<"$(best "$v" RATE_LIST)"
    echo "* $v: highest offered rate held (0 failed calls, achieved ≥ 95 % of offered): **$b/s** (achieved $a/s)"
  done
  echo
fi
if [ "${#REG_ROWS[@]}" -gt 0 ]; then
  echo "### REGISTER with digest authentication ($NDEV devices in turn)"
  echo
  echo "| offered/s | REGISTERs | **achieved/s** | 200 OK | failed | retransmissions | REGISTER→200 avg ms | p50 | p99 | load |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for row in "${REG_ROWS[@]}"; do echo "$row"; done
  echo
  read -r b a <<<"$(best reg REG_RATE_LIST)"
  echo "* highest offered rate held (0 failures, achieved ≥ 95 % of offered): **$b/s** (achieved $a/s)"
  echo
fi
echo "### CPU (cores busy during each run: CPU seconds / wall seconds; 2 cores in all)"
echo
echo "| run | offered/s | wall s $CPU_HEAD"
echo "|---|---|---|---|---|---|---|---|"
for row in "${CPU_ROWS[@]}"; do echo "$row"; done
echo
echo "Kamailio: both edges' processes (the idle one costs ~0). ringhouse: \`ringhouse serve\` (the API and hooks)."
echo
echo "### ringhouse's side of the hooks (access log: count, and ms avg / p50 / p99 / max inside ringhouse)"
echo
echo "| run | /route | ms | /events | ms | /auth | ms |"
echo "|---|---|---|---|---|---|---|"
for row in "${HOOK_ROWS[@]}"; do echo "$row"; done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
