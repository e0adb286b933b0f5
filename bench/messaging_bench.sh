#!/usr/bin/env bash
# Messaging throughput end to end, and Kannel's on the same SMSC:
#   ringhouse  POST /v1/messages accepted (201: stored, durable) -> the SMSC's
#              submit_sm_resp, over one SMPP transceiver bind, window 10 and
#              100, on SQLite and on MariaDB
#   kannel     the same messages on Kannel's HTTP sendsms interface (smsbox ->
#              bearerbox -> the same SMSC, same window), with its message
#              store (store-type = file) and without
# The SMSC is bench/smsc-sink.cpp (answers every submit_sm at once); the
# script first measures its ceiling and that of the tests' npm `smpp` SMSC
# (tests/support/smsc/smsc-fake.js) with an ESME alone. The load is
# bench/sms_load.cpp: C keep-alive connections opened before the clock
# starts, a fixed number of messages, closed loop. See bench/README.md.
#
#   bench/messaging_bench.sh [--messages 20000] [--mariadb-messages 10000]
#                            [--kannel-messages 20000] [--split-messages 10000]
#                            [--connections 32]
#                            [--users 8] [--windows 10,100]
#                            [--only ceiling,sqlite,sqlite-normal,mariadb,kannel,split]
#                            [--set KEY=VALUE]... [--profile] [--bin PATH]
#                            [--no-build] [--no-deps] [--keep]
#
#   --messages N         messages per measured ringhouse run on SQLite (after
#                        a warm-up of 500)
#   --mariadb-messages N the same on MariaDB (it is 3-4 times slower: fewer
#                        keep the whole script near 10 minutes)
#   --kannel-messages N  messages per measured Kannel run
#   --split-messages N   messages of each "split" run (see ringhouse_runs)
#   --connections C      HTTP connections of the load generator
#   --users U            ringhouse senders: U users with a number each; the
#                        load uses them in turn
#   --windows LIST       SMPP windows (max-pending-submits for Kannel)
#   --only LIST          what to run (default: everything):
#                          ceiling        each SMSC alone, with an ESME
#                          sqlite         ringhouse on SQLite, each window
#                          sqlite-normal  the same, last window, with
#                                         storage.sqlite_synchronous=normal
#                          mariadb        ringhouse on MariaDB, each window
#                          kannel         Kannel with and without its store,
#                                         each window
#                          split          accept-only and drain-only rates,
#                                         SQLite and MariaDB, last window
#   --set KEY=VALUE      extra ringhouse setting for every ringhouse run
#                        (repeatable), e.g. --set storage.sqlite_synchronous=normal
#   --profile            also `perf record` ringhouse during each measured
#                        run (perf report goes to the work directory; --keep);
#                        PERF_CALL_GRAPH="--call-graph dwarf,16384" in the
#                        environment records whole stacks (the default -g
#                        loses them: no frame pointers)
#   --bin PATH           measure this ringhouse binary (implies --no-build for it)
#   --no-build           do not (re)build build/bench-release
#   --no-deps            skip scripts/install-deps.sh bench and npm ci
#   --keep               keep the work directory (logs, configs, raw output)
#
# Progress goes to stderr, the Markdown report to stdout. Nothing is written
# to bench/RESULTS.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/bench-release"
MESSAGES=20000
MARIADB_MESSAGES=10000
KANNEL_MESSAGES=20000
SPLIT_MESSAGES=10000
CONNECTIONS=32
USERS=8
WINDOWS=10,100
ONLY=ceiling,sqlite,sqlite-normal,mariadb,kannel,split
PROFILE=0
EXTRA_SETS=()
BIN=""
BUILD_IT=1
DEPS=1
KEEP=0
WARMUP=500
SYSTEM_ID=ringhouse
SMPP_PASSWORD=secret

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-2}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) MESSAGES=$2; shift 2 ;;
    --mariadb-messages) MARIADB_MESSAGES=$2; shift 2 ;;
    --kannel-messages) KANNEL_MESSAGES=$2; shift 2 ;;
    --split-messages) SPLIT_MESSAGES=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --windows) WINDOWS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --set) EXTRA_SETS+=(--set "$2"); shift 2 ;;
    --profile) PROFILE=1; shift ;;
    --bin) BIN=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    --no-deps) DEPS=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "messaging_bench: unknown option $1" >&2; usage 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
log() { echo "[messaging_bench] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
IFS=',' read -r -a WINDOW_LIST <<<"$WINDOWS"

WORK=$(mktemp -d /tmp/messaging-bench.XXXXXX)
STARTED=()          # pids of everything this script started (stopped by the trap)
MARIADB_DIR=""
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]; }
stop_pid() {
  local pid=$1 _ p keep=()
  # Forget it first, so that the EXIT trap never signals a reused pid.
  for p in "${STARTED[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  STARTED=(${keep[@]+"${keep[@]}"})
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? p
  for p in ${STARTED[@]+"${STARTED[@]}"}; do stop_pid "$p"; done
  [ -n "$MARIADB_DIR" ] && "$ROOT/tests/support/mariadb-server.sh" stop "$MARIADB_DIR" >/dev/null 2>&1 || true
  if [ "$rc" -eq 0 ] && [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else log "work directory kept: $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ deps, build
if [ "$DEPS" -eq 1 ]; then
  log "dependencies (scripts/install-deps.sh bench)"
  bash "$ROOT/scripts/install-deps.sh" bench >&2
  if want ceiling && [ ! -d "$ROOT/tests/support/smsc/node_modules/smpp" ]; then
    npm ci --prefix "$ROOT/tests/support/smsc" >&2
  fi
fi
if [ "$BUILD_IT" -eq 1 ]; then
  log "building the release binaries in $BUILD"
  cmake --preset release -B "$BUILD" -DRINGHOUSE_BENCH=ON >/dev/null
  targets=(smsc_sink sms_load)
  [ -z "$BIN" ] && targets+=(ringhouse)
  cmake --build "$BUILD" --target "${targets[@]}" >&2
fi
BIN=${BIN:-$BUILD/ringhouse}
SINK_BIN="$BUILD/bench/smsc_sink"
LOAD_BIN="$BUILD/bench/sms_load"
for b in "$BIN" "$SINK_BIN" "$LOAD_BIN"; do [ -x "$b" ] || die "$b is not built"; done

# ----------------------------------------------------------------- helpers
# cpu_ticks PID...: user+system clock ticks of these processes (all threads).
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
HAVE_SYSCALL_TP=0
if command -v perf >/dev/null 2>&1 &&
  perf stat -e syscalls:sys_enter_fdatasync -- true >/dev/null 2>&1; then HAVE_SYSCALL_TP=1; fi
# fsync_rate: 4 KiB pwrite + fdatasync per second in the work directory (the
# disk's commit rate right now, shared with whatever else runs).
fsync_rate() {
  python3 - "$WORK" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
n, t = 300, time.time()
for i in range(n):
    os.pwrite(fd, b"x" * 4096, (i % 16) * 4096)
    os.fdatasync(fd)
dt = time.time() - t
os.close(fd)
os.unlink(path)
print(f"{n / dt:.0f}/s ({dt / n * 1000:.2f} ms each)")
PY
}
# thread_ticks PID: "TID ticks" of each thread, sorted by TID (for join).
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] && echo "${t##*/} $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')"
  done | sort -k1,1
}
# field KEY LINE: the value of KEY=... in a RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$until" ] || return 1
    sleep 0.1
  done
}

# The SMSC: bench/smsc-sink.cpp.
"$SINK_BIN" --system-id "$SYSTEM_ID" --password "$SMPP_PASSWORD" >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK_PID=$!
STARTED+=("$SINK_PID")
wait_for 10 grep -q READY "$WORK/sink.out" || die "smsc_sink did not start"
read -r _ SMPP_PORT SINK_CONTROL <"$WORK/sink.out"
sink_state() { curl -s "http://127.0.0.1:$SINK_CONTROL/state"; }
sink_binds() { sink_state | sed -n 's/.*"binds":\([0-9]*\).*/\1/p'; }
bound_since() { [ "$(sink_binds)" -gt "$1" ]; }  # bound_since N: a bind after the Nth

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
FSYNC_START=$(fsync_rate)
echo "## Messaging throughput ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $LOAD_START at the start)"
echo
echo "Command: \`bench/messaging_bench.sh --messages $MESSAGES --mariadb-messages $MARIADB_MESSAGES --kannel-messages $KANNEL_MESSAGES --split-messages $SPLIT_MESSAGES --connections $CONNECTIONS --users $USERS --windows $WINDOWS --only $ONLY${EXTRA_SETS[*]+ ${EXTRA_SETS[*]}}\`"
echo
echo "ringhouse: \`$("$BIN" version 2>/dev/null | head -1)\`; Kannel: $(dpkg-query -W -f='${Version}' kannel 2>/dev/null || echo 'not installed')"
echo

# -------------------------------------------------------- SMSC ceilings
if want ceiling; then
  log "SMSC ceilings (an ESME alone, 20,000 submit_sm)"
  echo "### The SMSC alone (an ESME blasting submit_sm over one bind)"
  echo
  echo "| SMSC | window | submits/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|"
  for w in "${WINDOW_LIST[@]}"; do
    r=$("$LOAD_BIN" --mode smpp --port "$SMPP_PORT" --messages 20000 --window "$w" --label sink)
    echo "| bench/smsc-sink.cpp | $w | $(field submits_per_s "$r") | $(field p50_ms "$r") | $(field p99_ms "$r") |"
  done
  if [ -d "$ROOT/tests/support/smsc/node_modules/smpp" ]; then
    node "$ROOT/tests/support/smsc/smsc-fake.js" --system-id "$SYSTEM_ID" --password "$SMPP_PASSWORD" \
      >"$WORK/fake.out" 2>"$WORK/fake.err" &
    FAKE_PID=$!
    STARTED+=("$FAKE_PID")
    wait_for 20 grep -q READY "$WORK/fake.out" || die "smsc-fake.js did not start"
    read -r _ FAKE_PORT _ <"$WORK/fake.out"
    for w in "${WINDOW_LIST[@]}"; do
      r=$("$LOAD_BIN" --mode smpp --port "$FAKE_PORT" --messages 20000 --window "$w" --label fake)
      echo "| tests/support/smsc/smsc-fake.js (npm smpp) | $w | $(field submits_per_s "$r") | $(field p50_ms "$r") | $(field p99_ms "$r") |"
    done
    stop_pid "$FAKE_PID"
  fi
  curl -s -X POST "http://127.0.0.1:$SINK_CONTROL/reset" >/dev/null
  echo
fi

ROWS=()   # table rows, in order
DB_ROWS=()  # MariaDB's counters per message
# mariadb_counters: "Name value" of the server's statement and fsync counters, sorted.
mariadb_counters() {
  MYSQL_PWD="$DB_PW" mariadb --no-defaults -N -B -h127.0.0.1 -P "$DB_PORT" -u "$DB_USER" -e \
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_select','Com_insert','Com_update','Com_delete','Com_commit','Innodb_data_fsyncs')" |
    sort -k1,1
}
declare -A RATE=()   # name -> e2e msgs/s

# measure NAME PIDS LOADARGS...: warm-up, then the measured run; appends a row.
# PIDS: comma-separated pids whose CPU time is reported.
measure() {
  local name=$1 pids=$2 messages=$3; shift 3
  local -a pid_list
  IFS=',' read -r -a pid_list <<<"$pids"
  "$LOAD_BIN" "$@" --messages "$WARMUP" --connections "$CONNECTIONS" --sink "$SINK_CONTROL" \
    --run "warm-$name-$RANDOM" --label "warm-up" >>"$WORK/results.txt" 2>>"$WORK/load.err" ||
    die "$name: the warm-up failed (see $WORK/load.err)"
  local c0 c1 l0 r perf_pid="" db0=""
  [[ "$name" == ringhouse-mariadb* ]] && db0=$(mariadb_counters)
  c0=$(cpu_ticks "${pid_list[@]}")
  l0=$(cut -d' ' -f1 /proc/loadavg)
  [ "$PROFILE" -eq 1 ] && thread_ticks "${pid_list[0]}" >"$WORK/threads0-$name.txt"
  # fsync/fdatasync calls of the server(s) during the run (a tracepoint count).
  local stat_pid=""
  if [ "$HAVE_SYSCALL_TP" -eq 1 ]; then
    perf stat -x, -o "$WORK/fsyncs-$name.csv" -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync \
      -p "$pids" >/dev/null 2>&1 &
    stat_pid=$!
    sleep 0.2
  fi
  if [ "$PROFILE" -eq 1 ] && [[ "$name" == ringhouse* ]] && command -v perf >/dev/null; then
    perf record -F 499 ${PERF_CALL_GRAPH:--g} -o "$WORK/perf-$name.data" -p "${pid_list[0]}" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.3
  fi
  r=$("$LOAD_BIN" "$@" --messages "$messages" --connections "$CONNECTIONS" --sink "$SINK_CONTROL" \
    --run "run-$name-$RANDOM" --label "$name" 2>>"$WORK/load.err") || {
    echo "$r" >>"$WORK/results.txt"
    die "$name: the measured run failed: $r (see $WORK/load.err)"
  }
  c1=$(cpu_ticks "${pid_list[@]}")
  local syncs="n/a"
  if [ -n "$stat_pid" ]; then
    kill -INT "$stat_pid" 2>/dev/null || true
    wait "$stat_pid" 2>/dev/null || true
    syncs=$(awk -F, -v n="$messages" '$3 ~ /syscalls/ { s += $1 } END { printf "%.2f", s / n }' "$WORK/fsyncs-$name.csv")
  fi
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf report -i "$WORK/perf-$name.data" --no-children --percent-limit 1.5 --stdio \
      >"$WORK/perf-$name.txt" 2>/dev/null || true
  fi
  if [ "$PROFILE" -eq 1 ]; then
    # CPU seconds of each thread of the (first) server process during the run.
    thread_ticks "${pid_list[0]}" | join - "$WORK/threads0-$name.txt" |
      awk -v hz="$HZ" '{ d = $2 - $3; if (d > 0) printf "%s %.2f\n", $1, d / hz }' |
      sort -k2 -nr >"$WORK/threads-$name.txt"
    log "$name: CPU s by thread: $(head -8 "$WORK/threads-$name.txt" | tr '\n' ' ')"
  fi
  if [ -n "$db0" ]; then
    DB_ROWS+=("$(mariadb_counters | join <(echo "$db0") - |
      awk -v name="$name" -v n="$messages" '{ d[$1] = ($3 - $2) / n }
        END { printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |", name,
          d["Questions"], d["Com_select"], d["Com_insert"], d["Com_update"], d["Com_delete"],
          d["Com_commit"], d["Innodb_data_fsyncs"] }')")
  fi
  echo "$r" >>"$WORK/results.txt"
  local e2e e2e_s cpu_ms
  e2e=$(field e2e_per_s "$r")
  e2e_s=$(field e2e_s "$r")
  cpu_ms=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v n="$messages" -v s="$e2e_s" \
    'BEGIN { printf "%.2f ms/msg, %.2f cores", d * 1000 / hz / n, (s > 0 ? d / hz / s : 0) }')
  RATE[$name]=$e2e
  ROWS+=("| $name | $messages | $(field accepted_per_s "$r") | $e2e | $(field smsc_steady_per_s "$r") | $(field p50_ms "$r") | $(field p99_ms "$r") | $(field submitted_at_last_response "$r") | $(field drain_ms "$r") | $cpu_ms | $syncs | $l0 |")
  log "$name: $r"
}

# ------------------------------------------------------------- ringhouse
# ringhouse_runs DRIVER WINDOW [VARIANT]
#   VARIANT ""      the figure: POST /v1/messages -> submit_sm_resp
#   VARIANT normal  the same with storage.sqlite_synchronous=normal (no fsync
#                   per commit: survives a crash of the process, not of the
#                   machine, like Kannel's store file)
#   VARIANT split   the two halves apart: after the set-up, ringhouse restarts
#                   with jobs.enabled=false (no message dispatcher) and takes
#                   the messages (accepted/s with no dispatching), then
#                   restarts as usual and its dispatcher drains the queue
#                   (submits/s with no HTTP load)
ringhouse_runs() {
  local driver=$1 w=$2 variant=${3:-}
  local name="ringhouse-$driver${variant:+_$variant}-w$w"
  local data="$WORK/$name" rh_pid db_pids="" smpp_port=$SMPP_PORT
  local -a args=(--data-dir "$data" --set http.address=127.0.0.1 --set log.access_log=off
    --set log.level=warn --set auth.access_token_ttl_s=3600
    --set messaging.user_rate_per_minute=0
    --set "messaging.smpp_binds=smpp://$SYSTEM_ID:$SMPP_PASSWORD@127.0.0.1:$smpp_port?route=smpp-a&window=$w"
    ${EXTRA_SETS[@]+"${EXTRA_SETS[@]}"})
  [ "$variant" = normal ] && args+=(--set storage.sqlite_synchronous=normal)
  if [ "$driver" = mariadb ]; then
    local db="bench_w$w${variant:+_$variant}"
    MYSQL_PWD="$DB_PW" mariadb --no-defaults -h127.0.0.1 -P "$DB_PORT" -u "$DB_USER" \
      -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db" >&2
    args+=(--set storage.driver=mariadb --set "storage.mariadb_url=${DB_URL}$db")
    db_pids=",$(tr -dc '0-9' <"$MARIADB_DIR/mysqld.pid")"
  fi
  log "$name: starting ringhouse"
  local binds0
  binds0=$(sink_binds)
  "$BIN" serve "${args[@]}" --http-port 0 >"$WORK/$name.log" 2>&1 &
  rh_pid=$!
  STARTED+=("$rh_pid")
  wait_for 60 test -s "$data/run/http.json" || die "$name: ringhouse did not start (see $WORK/$name.log)"
  local port api op tenant
  port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$data/run/http.json")
  api="http://127.0.0.1:$port"
  op=$(cat "$data/secrets/operator-token")
  wait_for 30 bound_since "$binds0" || die "$name: ringhouse did not bind to the SMSC"

  # Senders: USERS users, a number each, credit, a price for messages.
  { echo "number,trunk,messaging_route,features,monthly_price,upfront_price,region,city"
    for i in $(seq 0 $((USERS - 1))); do printf '+1415555%04d,trunk-a,smpp-a,sms;mms;voice,0.50,0.50,CA,San Francisco\n' "$((100 + i))"; done
  } >"$WORK/$name-dids.csv"
  "$BIN" admin import-numbers "${args[@]}" "$WORK/$name-dids.csv" >&2
  tenant=$(curl -s -H "Authorization: Bearer $op" "$api/v1/admin/tenants" | sed -n 's/.*"id":"\(ten_[^"]*\)".*/\1/p' | head -1)
  [ -n "$tenant" ] || die "$name: no tenant"
  curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $op" -H 'Content-Type: application/json' \
    -d '{"limits":{"max_messages_per_day":10000000}}' "$api/v1/admin/tenants/$tenant" || die "$name: PATCH tenant"
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $op" -H 'Content-Type: text/csv' \
    --data-binary $'prefix,description,per_minute,increment,sms,mms\n1,US,0.01,60/60,0.001,0.02\n' \
    "$api/v1/admin/rate-decks?name=Retail&tenant_id=$tenant" || die "$name: rate deck"
  : >"$WORK/$name-senders.txt"
  chmod 600 "$WORK/$name-senders.txt"
  local i email pw uid token from code
  for i in $(seq 0 $((USERS - 1))); do
    email="sender$i@bench.example"
    pw="bench password $i $RANDOM$RANDOM"
    uid=$(echo "$pw" | "$BIN" admin create-user --email "$email" --password-stdin "${args[@]}" |
      sed -n 's/.*"id":"\(usr_[^"]*\)".*/\1/p')
    [ -n "$uid" ] || die "$name: create-user"
    curl -sf -o /dev/null -H "Authorization: Bearer $op" -H 'Content-Type: application/json' \
      -d '{"amount":"1000.00","reason":"bench"}' "$api/v1/admin/users/$uid/balance-adjustments" ||
      die "$name: credit"
    token=$(curl -s -H 'Content-Type: application/json' -H 'Host: localhost' \
      -d "{\"email\":\"$email\",\"password\":\"$pw\"}" "$api/v1/auth/login" |
      sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || die "$name: login"
    from=$(printf '+1415555%04d' "$((100 + i))")
    code=$(curl -s -o "$WORK/$name-buy.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
      -H 'Host: localhost' -H "Idempotency-Key: buy-$i" -H 'Content-Type: application/json' \
      -d "{\"phone_number\":\"$from\"}" "$api/v1/numbers")
    [ "$code" = 201 ] || die "$name: purchase of $from: $code $(cat "$WORK/$name-buy.json")"
    echo "$token $from" >>"$WORK/$name-senders.txt"
  done

  if [ "$variant" = split ]; then
    split_run "$name" "$rh_pid" "$db_pids" "${args[@]}"
    rh_pid=$SPLIT_PID
    api="http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$data/run/http.json")"
  else
    local n=$MESSAGES
    [ "$driver" = mariadb ] && n=$MARIADB_MESSAGES
    measure "$name" "$rh_pid$db_pids" "$n" --kind ringhouse --port "$port" \
      --senders "$WORK/$name-senders.txt"
  fi
  curl -s "$api/metrics" >"$WORK/$name-metrics.txt" || true
  stop_pid "$rh_pid"
}

SPLIT_ROWS=()
SPLIT_PID=""
# start_rh NAME ARGS...: starts ringhouse serve, waits for its port: sets SPLIT_PID, SPLIT_PORT.
start_rh() {
  local name=$1 data; shift
  data=$2  # args start with --data-dir DIR
  rm -f "$data/run/http.json"
  "$BIN" serve "$@" --http-port 0 >>"$WORK/$name.log" 2>&1 &
  SPLIT_PID=$!
  STARTED+=("$SPLIT_PID")
  wait_for 60 test -s "$data/run/http.json" || die "$name: ringhouse did not restart (see $WORK/$name.log)"
  SPLIT_PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$data/run/http.json")
}
# split_run NAME RH_PID ,DB_PID ARGS...: accept with no dispatcher, then drain.
split_run() {
  local name=$1 rh_pid=$2 db_pids=$3; shift 3
  local r c0 c1 c2 c3 st first last n
  stop_pid "$rh_pid"
  log "$name: restarting without the message dispatcher (jobs.enabled=false)"
  start_rh "$name" "$@" --set jobs.enabled=false
  c0=$(cpu_ticks "$SPLIT_PID" ${db_pids#,})
  r=$("$LOAD_BIN" --kind ringhouse --port "$SPLIT_PORT" --senders "$WORK/$name-senders.txt" \
    --messages "$SPLIT_MESSAGES" --connections "$CONNECTIONS" --sink "$SINK_CONTROL" --no-wait \
    --run "split-$RANDOM" --label "$name-accept" 2>>"$WORK/load.err") || die "$name: accept phase failed: $r"
  echo "$r" >>"$WORK/results.txt"
  log "$name: $r"
  c1=$(cpu_ticks "$SPLIT_PID" ${db_pids#,})
  stop_pid "$SPLIT_PID"
  curl -s -X POST "http://127.0.0.1:$SINK_CONTROL/reset" >/dev/null
  log "$name: restarting with the dispatcher: draining $SPLIT_MESSAGES queued messages"
  start_rh "$name" "$@"
  c2=$(cpu_ticks "$SPLIT_PID" ${db_pids#,})
  local until=$((SECONDS + 300))
  while :; do
    st=$(sink_state)
    n=$(sed -n 's/.*"submits":\([0-9]*\).*/\1/p' <<<"$st")
    [ "${n:-0}" -ge "$SPLIT_MESSAGES" ] && break
    [ "$SECONDS" -lt "$until" ] || die "$name: the drain did not finish ($n of $SPLIT_MESSAGES)"
    sleep 0.1
  done
  c3=$(cpu_ticks "$SPLIT_PID" ${db_pids#,})
  first=$(sed -n 's/.*"first_submit_ns":\([0-9]*\).*/\1/p' <<<"$st")
  last=$(sed -n 's/.*"last_submit_ns":\([0-9]*\).*/\1/p' <<<"$st")
  SPLIT_ROWS+=("$(awk -v name="$name" -v n="$SPLIT_MESSAGES" -v acc="$(field accepted_per_s "$r")" \
    -v p50="$(field p50_ms "$r")" -v p99="$(field p99_ms "$r")" \
    -v f="$first" -v l="$last" -v a=$((c1 - c0)) -v d=$((c3 - c2)) -v hz="$HZ" 'BEGIN {
      s = (l - f) / 1e9
      printf "| %s | %d | %s | %s / %s | %.2f ms/msg | %.0f | %.2f ms/msg |", name, n, acc, p50, p99,
        a * 1000 / hz / n, (s > 0 ? n / s : 0), d * 1000 / hz / n }')")
  log "${SPLIT_ROWS[-1]}"
}

# ---------------------------------------------------------------- Kannel
# kannel_run store|nostore WINDOW: bearerbox + smsbox from bench/kannel/kannel.conf.in.
kannel_run() {
  local store=$1 w=$2 name="kannel-$1-w$2"
  [ -x /usr/sbin/bearerbox ] && [ -x /usr/sbin/smsbox ] ||
    { log "kannel is not installed (scripts/install-deps.sh bench): skipped"; return 0; }
  local dir="$WORK/$name" admin smsbox sendsms store_lines=""
  mkdir -p "$dir"
  admin=$(free_port) smsbox=$(free_port) sendsms=$(free_port)
  [ "$store" = store ] && store_lines=$'store-type = file\nstore-location = "'"$dir"'/kannel.store"'
  awk -v store="$store_lines" '{ if ($0 == "@STORE@") print store; else print }' \
    "$ROOT/bench/kannel/kannel.conf.in" |
    sed -e "s|@ADMIN_PORT@|$admin|; s|@SMSBOX_PORT@|$smsbox|; s|@SENDSMS_PORT@|$sendsms|" \
      -e "s|@SMPP_PORT@|$SMPP_PORT|; s|@WINDOW@|$w|; s|@WORK@|$dir|" \
      -e "s|@SYSTEM_ID@|$SYSTEM_ID|; s|@SMPP_PASSWORD@|$SMPP_PASSWORD|" >"$dir/kannel.conf"
  log "$name: starting bearerbox and smsbox"
  local binds0 bb sb
  binds0=$(sink_binds)
  /usr/sbin/bearerbox "$dir/kannel.conf" >"$dir/bearerbox.out" 2>&1 &
  bb=$!
  STARTED+=("$bb")
  wait_for 30 bound_since "$binds0" || die "$name: bearerbox did not bind to the SMSC (see $dir)"
  /usr/sbin/smsbox "$dir/kannel.conf" >"$dir/smsbox.out" 2>&1 &
  sb=$!
  STARTED+=("$sb")
  wait_for 30 curl -s -o /dev/null "http://127.0.0.1:$sendsms/" || die "$name: smsbox did not start (see $dir)"
  measure "$name" "$bb,$sb" "$KANNEL_MESSAGES" --kind kannel --port "$sendsms" \
    --user bench --password bench --from +14155550100
  curl -s "http://127.0.0.1:$admin/status.txt?password=bench" >"$dir/status.txt" || true
  stop_pid "$sb"
  stop_pid "$bb"
}

# ----------------------------------------------------------------- order
# Per window, ringhouse and Kannel back to back, so that each comparison is
# made under the same background load; then the diagnostics.
if want mariadb || want split; then
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    log "starting a throwaway MariaDB"
    MARIADB_DIR="$WORK/mariadb"
    DB_URL=$("$ROOT/tests/support/mariadb-server.sh" start "$MARIADB_DIR")
    [[ "$DB_URL" =~ ^mariadb://([^:@/]+):([^@/]+)@127\.0\.0\.1:([0-9]+)/$ ]] || die "unexpected URL $DB_URL"
    DB_USER=${BASH_REMATCH[1]} DB_PW=${BASH_REMATCH[2]} DB_PORT=${BASH_REMATCH[3]}
  else
    log "MariaDB is not installed (scripts/install-deps.sh test): MariaDB runs skipped"
  fi
fi
for w in "${WINDOW_LIST[@]}"; do
  want sqlite && ringhouse_runs sqlite "$w"
  want kannel && kannel_run store "$w"
  want kannel && kannel_run nostore "$w"
  want mariadb && [ -n "$MARIADB_DIR" ] && ringhouse_runs mariadb "$w"
done
want sqlite-normal && ringhouse_runs sqlite "${WINDOW_LIST[-1]}" normal
want split && ringhouse_runs sqlite "${WINDOW_LIST[-1]}" split
want split && [ -n "$MARIADB_DIR" ] && ringhouse_runs mariadb "${WINDOW_LIST[-1]}" split

# ---------------------------------------------------------------- report
echo "### End to end: HTTP request -> stored -> submit_sm -> submit_sm_resp"
echo
echo "$CONNECTIONS keep-alive connections, opened before the clock; $WARMUP messages of warm-up first. e2e = accepted messages / (first request -> the SMSC's last submit_sm_resp)."
echo
echo "| run | messages | accepted/s | **e2e msgs/s** | SMSC rate 10–90 % | POST p50 ms | POST p99 ms | submitted when the last POST was answered | drain after it ms | CPU of the server(s) | fsyncs/msg | load avg |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
ratio() { awk -v a="${RATE[$1]:-0}" -v b="${RATE[$2]:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
if [ "${#DB_ROWS[@]}" -gt 0 ]; then
  echo "MariaDB's own counters during the measured run, per message (SHOW GLOBAL STATUS; Questions counts every statement, BEGIN/COMMIT included):"
  echo
  echo "| run | statements | SELECT | INSERT | UPDATE | DELETE | COMMIT | InnoDB fsyncs |"
  echo "|---|---|---|---|---|---|---|---|"
  for r in "${DB_ROWS[@]}"; do echo "$r"; done
  echo
fi
if [ "${#SPLIT_ROWS[@]}" -gt 0 ]; then
  echo "### The two halves apart (window ${WINDOW_LIST[-1]}, $SPLIT_MESSAGES messages)"
  echo
  echo "Accept: POST /v1/messages with the message dispatcher off (\`jobs.enabled=false\`): the HTTP half alone. Drain: ringhouse restarted as usual sends the queue (no HTTP load); rate = messages / (first -> last submit_sm_resp). CPU: ringhouse (and mariadbd) per message in each phase."
  echo
  echo "| run | messages | accept only: msgs/s | POST p50 / p99 ms | CPU, accept | drain only: msgs/s | CPU, drain |"
  echo "|---|---|---|---|---|---|---|"
  for r in "${SPLIT_ROWS[@]}"; do echo "$r"; done
  echo
fi
echo "| ratio (e2e msgs/s) | window | value |"
echo "|---|---|---|"
for w in "${WINDOW_LIST[@]}"; do
  for d in sqlite sqlite_normal mariadb; do
    [ -n "${RATE[ringhouse-$d-w$w]:-}" ] || continue
    echo "| ringhouse $d ÷ Kannel with store | $w | $(ratio "ringhouse-$d-w$w" "kannel-store-w$w") |"
    echo "| ringhouse $d ÷ Kannel without store | $w | $(ratio "ringhouse-$d-w$w" "kannel-nostore-w$w") |"
  done
  [ -n "${RATE[kannel-store-w$w]:-}" ] &&
    echo "| Kannel with store ÷ without | $w | $(ratio "kannel-store-w$w" "kannel-nostore-w$w") |"
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). The disk's fdatasync rate (4 KiB writes, one file): $FSYNC_START at the start, $(fsync_rate) at the end."
