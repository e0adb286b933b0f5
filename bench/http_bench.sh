#!/usr/bin/env bash
# HTTP benchmark of two ringhouse JSON endpoints, on SQLite and on MariaDB,
# each against an nginx ceiling that returns the same body:
#   branding  GET /v1/branding, anonymous (one tenant row read per request)
#   me        GET /v1/me with "Authorization: Bearer <access token>" (a user
#             created with `ringhouse admin create-user`, logged in with
#             POST /v1/auth/login): the authenticated read of the accounts issue
# See bench/README.md.
#
#   bench/http_bench.sh [--duration 10s] [--connections 64] [--threads 2]
#                       [--warmup 2s] [--only sqlite,mariadb,nginx,branding,me]
#                       [--access-log both|default|off] [--bin PATH] [--no-build]
#                       [--no-deps] [--keep]
#
#   --duration D      length of each measured wrk run (wrk syntax: 10s, 1m)
#   --connections C   open connections of the maximum-throughput run
#   --threads T       wrk threads
#   --warmup W        warm-up (and half-load calibration) run length
#   --only LIST       comma-separated targets (sqlite, mariadb, nginx) and/or
#                     endpoints (branding, me); a kind left out means all of
#                     it: `--only me` is /v1/me on SQLite, MariaDB and nginx,
#                     `--only sqlite,nginx` both endpoints on those two
#   --access-log M    ringhouse runs with the default access log (stdout,
#                     redirected to a file), with log.access_log=off, or both
#   --bin PATH        benchmark this ringhouse binary instead of build/release
#   --no-build        do not (re)build build/release/ringhouse
#   --no-deps         skip scripts/install-deps.sh bench
#   --keep            keep the work directory (logs, raw wrk output)
#
# Progress goes to stderr; the Markdown report goes to stdout, so
# `bench/http_bench.sh > out.md` captures just the tables. Nothing is written
# to bench/RESULTS.md: paste what you want to keep.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$ROOT/bench"
NGINX=/usr/sbin/nginx
HOST_HEADER="Host: localhost"   # the default tenant's hostname
# Endpoint name -> path.
declare -A ENDPOINT_PATH=([branding]=/v1/branding [me]=/v1/me)
ENDPOINT_ORDER=(branding me)
BENCH_EMAIL="bench@example.com"   # the user created for /v1/me
# Access tokens live auth.access_token_ttl_s (600 s by default, 3600 at most):
# ringhouse runs with the maximum, and each /v1/me measurement logs in afresh.
ACCESS_TTL_S=3600

DURATION=10s
CONNECTIONS=64
THREADS=2
WARMUP=2s
ONLY="sqlite,mariadb,nginx,branding,me"
ACCESS_LOG=both
BIN=""
BUILD=1
DEPS=1
KEEP=0

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-2}"
}

log() { echo "http_bench: $*" >&2; }
die() {
  echo "" >&2
  echo "http_bench: FAILED: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --connections|-c) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --threads|-t) THREADS=${2:?--threads needs a value}; shift 2 ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
    --only) ONLY=${2:?--only needs a value}; shift 2 ;;
    --access-log) ACCESS_LOG=${2:?--access-log needs a value}; shift 2 ;;
    --bin) BIN=${2:?--bin needs a value}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-deps) DEPS=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "http_bench: unknown argument: $1" >&2; usage 2 ;;
  esac
done

# ---------------------------------------------------------------- arguments
[[ "$DURATION" =~ ^[0-9]+[smh]?$ ]] || die "--duration must look like 10s or 1m, got '$DURATION'"
[[ "$WARMUP" =~ ^[0-9]+[smh]?$ ]] || die "--warmup must look like 2s, got '$WARMUP'"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive number"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive number"
[ "$CONNECTIONS" -ge "$THREADS" ] || die "--connections ($CONNECTIONS) must be >= --threads ($THREADS)"
case "$ACCESS_LOG" in
  both) LOG_MODES=(default off) ;;
  default|stdout) LOG_MODES=(default) ;;
  off) LOG_MODES=(off) ;;
  *) die "--access-log must be both, default or off, got '$ACCESS_LOG'" ;;
esac
WANT_SQLITE=0 WANT_MARIADB=0 WANT_NGINX=0
declare -A WANT_ENDPOINT=()
IFS=',' read -r -a only_list <<<"$ONLY"
for t in "${only_list[@]}"; do
  case "$t" in
    sqlite) WANT_SQLITE=1 ;;
    mariadb) WANT_MARIADB=1 ;;
    nginx) WANT_NGINX=1 ;;
    branding|me) WANT_ENDPOINT[$t]=1 ;;
    *) die "--only takes sqlite, mariadb, nginx, branding and/or me (comma-separated), got '$t'" ;;
  esac
done
if [ $((WANT_SQLITE + WANT_MARIADB + WANT_NGINX)) -eq 0 ]; then WANT_SQLITE=1 WANT_MARIADB=1 WANT_NGINX=1; fi
ENDPOINTS=()
for e in "${ENDPOINT_ORDER[@]}"; do [ -z "${WANT_ENDPOINT[$e]:-}" ] || ENDPOINTS+=("$e"); done
[ "${#ENDPOINTS[@]}" -gt 0 ] || ENDPOINTS=("${ENDPOINT_ORDER[@]}")
wants_endpoint() { local e; for e in "${ENDPOINTS[@]}"; do [ "$e" = "$1" ] && return 0; done; return 1; }

# wrk duration syntax -> seconds
to_seconds() {
  local v=$1
  case "$v" in
    *h) echo $(( ${v%h} * 3600 )) ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *s) echo "${v%s}" ;;
    *) echo "$v" ;;
  esac
}
# One /v1/me measurement (warm-up, maximum, calibration, half load) must fit
# in the life of the token it logs in for.
if wants_endpoint me && [ $(( 2 * $(to_seconds "$DURATION") + 2 * $(to_seconds "$WARMUP") + 60 )) -ge "$ACCESS_TTL_S" ]; then
  die "--duration $DURATION and --warmup $WARMUP: a /v1/me measurement would outlive its access token (${ACCESS_TTL_S} s)"
fi

# ------------------------------------------------------- processes, cleanup
WORK=$(mktemp -d /tmp/ringhouse-bench.XXXXXX)
STARTED_PIDS=()     # ringhouse and nginx masters started by this script
MARIADB_DIR=""      # set before the throwaway MariaDB starts, so it is always stopped

alive() {
  # kill -0 also succeeds for a zombie; a zombie is not alive for us.
  kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]
}

stop_pid() {
  local pid=$1 _
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 250); do          # ringhouse drains for up to 20 s by default
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid ignored SIGTERM for 25 s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  if [ -n "$MARIADB_DIR" ]; then
    "$ROOT/tests/support/mariadb-server.sh" stop "$MARIADB_DIR" >/dev/null 2>&1 ||
      log "warning: could not stop the MariaDB server in $MARIADB_DIR"
  fi
  if [ "$rc" -eq 0 ] && [ "$KEEP" -eq 0 ]; then
    rm -rf "$WORK"
  else
    rm -rf "$WORK/mariadb/data"   # the only big thing in there
    log "logs and raw wrk output kept in $WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# Drops a pid from STARTED_PIDS after stopping it.
stop_started() {
  local pid=$1 keep=() p
  stop_pid "$pid"
  for p in "${STARTED_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  STARTED_PIDS=("${keep[@]}")
}

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# awk arithmetic: fcalc FORMAT EXPR
fcalc() { awk "BEGIN { printf \"$1\", ($2) }"; }

# VmRSS kB, VmHWM kB and thread count of a pid, space separated.
proc_mem() {
  awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} /^Threads:/{t=$2} END{print r, h, t}' "/proc/$1/status"
}

# Sum of ringhouse_http_requests_total with a status outside 2xx (server side).
ringhouse_non2xx() {
  curl -sS --max-time 5 "http://127.0.0.1:$1/metrics" |
    awk '/^ringhouse_http_requests_total\{/ && $0 !~ /status="2[0-9][0-9]"/ { s += $NF } END { printf "%d\n", s }'
}

# ------------------------------------------------------------ prerequisites
if [ "$DEPS" -eq 1 ]; then
  log "checking packages (scripts/install-deps.sh bench)"
  bash "$ROOT/scripts/install-deps.sh" bench >&2 || die "scripts/install-deps.sh bench failed"
fi
for tool in wrk curl python3 awk; do
  command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh bench)"
done
[ "$WANT_NGINX" -eq 0 ] || [ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx-light)"
if [ "$WANT_MARIADB" -eq 1 ]; then
  command -v mariadb >/dev/null || die "mariadb client not found (bash scripts/install-deps.sh bench)"
fi

if [ -z "$BIN" ]; then
  BIN="$ROOT/build/release/ringhouse"
  if [ "$BUILD" -eq 1 ]; then
    log "building the release binary (cmake --preset release && cmake --build --preset release)"
    (
      cd "$ROOT"
      if [ ! -f build/release/build.ninja ]; then cmake --preset release; fi
      cmake --build --preset release
    ) >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; die "release build failed (log: $WORK/build.log)"; }
  fi
fi
[ -x "$BIN" ] || die "ringhouse binary '$BIN' not found or not executable (drop --no-build, or pass --bin)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$BIN")/CMakeCache.txt" 2>/dev/null || true)
RH_VERSION=$("$BIN" version 2>/dev/null | head -n 1 || echo "?")

# ----------------------------------------------------------------- wrk runs
BEARER=""   # access token sent by the wrk scripts and curl while non-empty
# run_wrk OUT_FILE CONNECTIONS DURATION SCRIPT URL [SCRIPT_ARGS...]
# Runs wrk, keeps its full output in OUT_FILE, fails on socket errors or
# >= 400 statuses (wrk's own counter), and leaves the BENCH line in $BENCH.
# With $BEARER set, the scripts (report.lua) add "Authorization: Bearer ..."
# to every request; the token goes through the environment (BENCH_BEARER_TOKEN),
# not the command line, so it is in neither `ps` nor the kept output.
run_wrk() {
  local out=$1 conns=$2 dur=$3 script=$4 url=$5
  shift 5
  local cmd=(wrk -t "$THREADS" -c "$conns" -d "$dur" --latency -H "$HOST_HEADER"
             -s "$BENCH_DIR/wrk/$script" "$url")
  [ $# -eq 0 ] || cmd+=(-- "$@")
  echo "\$ ${BEARER:+BENCH_BEARER_TOKEN=... }${cmd[*]}" >"$out"
  BENCH_BEARER_TOKEN="$BEARER" "${cmd[@]}" >>"$out" 2>&1 || { cat "$out" >&2; die "wrk exited with an error (output: $out)"; }
  BENCH=$(grep '^BENCH ' "$out" | tail -n 1)
  [ -n "$BENCH" ] || { cat "$out" >&2; die "no result line in wrk output $out"; }
  local errs
  errs=$(bench_field err_connect)+$(bench_field err_read)+$(bench_field err_write)+$(bench_field err_timeout)
  if [ "$((errs))" -ne 0 ] || [ "$(bench_field err_status)" -ne 0 ]; then
    cat "$out" >&2
    die "wrk saw errors against $url: socket errors $errs, status >= 400: $(bench_field err_status) (output: $out)"
  fi
  [ "$(bench_field requests)" -gt 0 ] || die "wrk completed no requests against $url (output: $out)"
}

bench_field() {
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$BENCH"
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
WRK_MAX_CMD="wrk -t $THREADS -c $CONNECTIONS -d $DURATION --latency -H '$HOST_HEADER' -s bench/wrk/report.lua http://127.0.0.1:PORT/v1/ENDPOINT"

# measure ENDPOINT KEY LABEL PORT KIND(ringhouse|nginx)
# Warm-up with exact status counting, maximum-throughput run, then a run
# paced to about half of that maximum. Appends one row to $RESULTS. For
# ENDPOINT me, $BEARER must hold a valid access token.
measure() {
  local endpoint=$1 key=$2 label=$3 port=$4 kind=$5
  local url="http://127.0.0.1:$port${ENDPOINT_PATH[$endpoint]}"
  local dir="$WORK/$key/$endpoint"
  mkdir -p "$dir"
  local auth=()
  if [ "$endpoint" = me ]; then
    [ -n "$BEARER" ] || die "$label: no access token for ${ENDPOINT_PATH[$endpoint]}"
    auth=(-H "Authorization: Bearer $BEARER")
  fi
  label="$label: GET ${ENDPOINT_PATH[$endpoint]}"

  # Sanity: one request, a 200 with a body.
  local code
  code=$(curl -sS --max-time 5 -H "$HOST_HEADER" "${auth[@]}" -D "$dir/response-headers.txt" -o "$dir/body.json" \
    -w '%{http_code}' "$url") || die "$label: GET $url failed"
  [ "$code" = "200" ] || die "$label: GET $url answered $code: $(head -c 300 "$dir/body.json")"
  local wire_bytes
  wire_bytes=$(( $(wc -c <"$dir/response-headers.txt") + $(wc -c <"$dir/body.json") ))

  local non2xx_before=0
  if [ "$kind" = ringhouse ]; then
    non2xx_before=$(ringhouse_non2xx "$port") || die "$label: cannot read /metrics"
  fi

  log "$label: warm-up $WARMUP, -c $CONNECTIONS, counting every status"
  run_wrk "$dir/wrk-warmup.txt" "$CONNECTIONS" "$WARMUP" statuses.lua "$url"
  local warm_non2xx
  warm_non2xx=$(sed -n 's/^NON2XX //p' "$dir/wrk-warmup.txt")
  [ "$warm_non2xx" = "0" ] ||
    die "$label: $warm_non2xx non-2xx responses during warm-up ($(grep '^STATUS' "$dir/wrk-warmup.txt"))"

  log "$label: maximum throughput, $DURATION, -t $THREADS -c $CONNECTIONS"
  run_wrk "$dir/wrk-max.txt" "$CONNECTIONS" "$DURATION" report.lua "$url"
  local rps p50 p99 wrk_status
  rps=$(bench_field rps) p50=$(bench_field p50_us) p99=$(bench_field p99_us) wrk_status=$(bench_field err_status)
  log "$label: $rps req/s, p50 ${p50} us, p99 ${p99} us"

  # About half of the maximum: pace every connection with a delay between
  # requests. A short calibration run measures how much latency and timer
  # slack add to the delay, then the measured run corrects for it.
  local target delay0 cal_rps overhead delay1
  target=$(fcalc '%.1f' "$rps / 2")
  delay0=$(fcalc '%.3f' "1000 * $CONNECTIONS / $target")
  log "$label: half load, target $target req/s: calibrating ($WARMUP, delay ${delay0} ms per connection)"
  run_wrk "$dir/wrk-half-calibration.txt" "$CONNECTIONS" "$WARMUP" paced.lua "$url" "$delay0"
  cal_rps=$(bench_field rps)
  overhead=$(fcalc '%.3f' "1000 * $CONNECTIONS / $cal_rps - $delay0")
  delay1=$(fcalc '%.3f' "(1000 * $CONNECTIONS / $target - $overhead) > 0 ? 1000 * $CONNECTIONS / $target - $overhead : 0")
  log "$label: half load, $DURATION, delay ${delay1} ms per connection"
  run_wrk "$dir/wrk-half.txt" "$CONNECTIONS" "$DURATION" paced.lua "$url" "$delay1"
  local half_rps half_p50 half_p99
  half_rps=$(bench_field rps) half_p50=$(bench_field p50_us) half_p99=$(bench_field p99_us)
  log "$label: half load: $half_rps req/s, p50 ${half_p50} us, p99 ${half_p99} us"

  # Non-2xx: for ringhouse, counted by the server itself (exact, every run of
  # this target); for nginx, wrk's count of statuses >= 400 (the warm-up
  # above checked for any non-2xx exactly).
  local non2xx=$wrk_status
  if [ "$kind" = ringhouse ]; then
    local non2xx_after
    non2xx_after=$(ringhouse_non2xx "$port") || die "$label: cannot read /metrics"
    non2xx=$((non2xx_after - non2xx_before))
    [ "$non2xx" -eq 0 ] || die "$label: the server answered $non2xx non-2xx responses during the runs (see /metrics)"
  fi

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$endpoint" "$key" "$3" "$rps" "$p50" "$p99" "$non2xx" "$target" "$half_rps" "$half_p50" "$half_p99" "$wire_bytes" \
    >>"$RESULTS"
  # The first ringhouse response of each endpoint is what nginx will serve.
  if [ "$kind" = ringhouse ] && [ ! -f "$WORK/ceiling-$endpoint.json" ]; then
    cp "$dir/response-headers.txt" "$WORK/ceiling-$endpoint.headers"
    cp "$dir/body.json" "$WORK/ceiling-$endpoint.json"
  fi
}

# --------------------------------------------------------------- ringhouse
RH_PID="" RH_PORT=""
RH_CONFIG_ARGS=()   # the configuration options of the running ringhouse
# start_ringhouse KEY ACCESS_LOG(default|off) [EXTRA --set ARGS...]
start_ringhouse() {
  local key=$1 mode=$2
  shift 2
  local dir="$WORK/$key"
  mkdir -p "$dir"
  RH_CONFIG_ARGS=(--data-dir "$dir/data" --http-port 0 --set http.address=127.0.0.1
                  --set "auth.access_token_ttl_s=$ACCESS_TTL_S" "$@")
  [ "$mode" = off ] && RH_CONFIG_ARGS+=(--set log.access_log=off)
  local args=(serve "${RH_CONFIG_ARGS[@]}")
  echo "$BIN ${args[*]}" >"$dir/command.txt"
  "$BIN" "${args[@]}" >"$dir/stdout.log" 2>"$dir/stderr.log" </dev/null &
  RH_PID=$!
  STARTED_PIDS+=("$RH_PID")
  local run_file="$dir/data/run/http.json" _
  for _ in $(seq 1 600); do
    if ! alive "$RH_PID"; then
      tail -n 30 "$dir/stderr.log" >&2
      die "ringhouse ($key) exited during start-up (log: $dir/stderr.log)"
    fi
    if [ -s "$run_file" ] && RH_PORT=$(python3 - "$run_file" "$RH_PID" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("pid") != int(sys.argv[2]) or not d.get("port"):
    sys.exit(1)
print(d["port"])
PY
    ); then
      return 0
    fi
    sleep 0.1
  done
  die "ringhouse ($key) did not write $run_file within 60 s (log: $dir/stderr.log)"
}

BENCH_PASSWORD=""   # of $BENCH_EMAIL in the running ringhouse's database
# create_bench_user KEY: `ringhouse admin create-user` with the running
# server's configuration options (same data directory and database), an
# active, verified user of the default tenant with a random password.
create_bench_user() {
  local key=$1 dir="$WORK/$1"
  BENCH_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  echo "$BIN admin create-user --email $BENCH_EMAIL --password-stdin ${RH_CONFIG_ARGS[*]}" >"$dir/create-user.command.txt"
  printf '%s\n' "$BENCH_PASSWORD" |
    "$BIN" admin create-user --email "$BENCH_EMAIL" --password-stdin "${RH_CONFIG_ARGS[@]}" \
      >"$dir/create-user.json" 2>"$dir/create-user.log" ||
    { cat "$dir/create-user.log" "$dir/create-user.json" >&2; die "$key: ringhouse admin create-user failed (log: $dir/create-user.log)"; }
}

# login KEY PORT: POST /v1/auth/login as $BENCH_EMAIL; sets BEARER.
login() {
  local key=$1 port=$2 dir="$WORK/$1" code
  code=$(python3 -c 'import json, sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' \
           "$BENCH_EMAIL" "$BENCH_PASSWORD" |
         curl -sS --max-time 30 -H "$HOST_HEADER" -H 'Content-Type: application/json' --data-binary @- \
           -o "$dir/login.json" -w '%{http_code}' "http://127.0.0.1:$port/v1/auth/login") ||
    die "$key: POST /v1/auth/login failed"
  [ "$code" = 200 ] || die "$key: POST /v1/auth/login answered $code: $(head -c 300 "$dir/login.json")"
  BEARER=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$dir/login.json") ||
    die "$key: no access_token in the login response"
  rm -f "$dir/login.json"   # tokens: not kept with the logs
}

MARIADB_URL=""   # of the server, without a database name
DB_URL=""
# mariadb_database DBNAME: creates DBNAME on the throwaway server (started on
# first use) and sets DB_URL. Not for $(...): it must set globals.
mariadb_database() {
  local db=$1
  if [ -z "$MARIADB_URL" ]; then
    MARIADB_DIR="$WORK/mariadb"
    log "starting a throwaway MariaDB server (tests/support/mariadb-server.sh)"
    MARIADB_URL=$("$ROOT/tests/support/mariadb-server.sh" start "$MARIADB_DIR") ||
      die "could not start MariaDB (see $MARIADB_DIR/error.log)"
  fi
  [[ "$MARIADB_URL" =~ ^mariadb://([^:@/]+):([^@/]+)@127\.0\.0\.1:([0-9]+)/$ ]] ||
    die "unexpected MariaDB URL from mariadb-server.sh: '$MARIADB_URL'"
  MYSQL_PWD="${BASH_REMATCH[2]}" mariadb --no-defaults -h127.0.0.1 -P "${BASH_REMATCH[3]}" \
    -u "${BASH_REMATCH[1]}" -e "CREATE DATABASE \`$db\`" >&2 || die "could not create database $db"
  DB_URL="${MARIADB_URL}${db}"
}

IDLE_SETTLE=2   # seconds between start-up and the idle RSS reading
MEM="$WORK/memory.tsv"
: >"$MEM"

# bench_ringhouse STORAGE(sqlite|mariadb) ACCESS_LOG(default|off)
# One server per storage and access-log mode; every wanted endpoint is
# measured on it in turn (/v1/me after creating a user and logging in).
bench_ringhouse() {
  local storage=$1 mode=$2 key="ringhouse-$1-log-$2" extra=() label
  case "$storage" in
    sqlite) label="ringhouse, SQLite" ;;
    mariadb)
      label="ringhouse, MariaDB"
      mariadb_database "bench_${mode}"
      extra=(--set storage.driver=mariadb --set "storage.mariadb_url=$DB_URL")
      ;;
  esac
  if [ "$mode" = off ]; then label="$label, access log off"; else label="$label, access log → file"; fi

  log "$label: starting ($BIN serve --http-port 0)"
  start_ringhouse "$key" "$mode" "${extra[@]}"
  local pid=$RH_PID port=$RH_PORT
  sleep "$IDLE_SETTLE"
  local idle
  idle=$(proc_mem "$pid")
  log "$label: pid $pid on 127.0.0.1:$port; idle VmRSS/VmHWM/threads: $idle"

  local endpoint
  for endpoint in "${ENDPOINTS[@]}"; do
    if [ "$endpoint" = me ]; then
      [ -n "$BENCH_PASSWORD" ] || { log "$label: creating $BENCH_EMAIL (ringhouse admin create-user)"; create_bench_user "$key"; }
      login "$key" "$port"
      log "$label: logged in as $BENCH_EMAIL"
    fi
    measure "$endpoint" "$key" "$label" "$port" ringhouse
    [ "$endpoint" != me ] || ME_TOKEN_FOR_NGINX=$BEARER
    BEARER=""
  done
  BENCH_PASSWORD=""

  local after
  after=$(proc_mem "$pid")
  log "$label: after load VmRSS/VmHWM/threads: $after"
  # shellcheck disable=SC2086
  printf '%s\t%s\t%s\t%s\n' "$key" "$label" "$(tr ' ' '\t' <<<"$idle")" "$(tr ' ' '\t' <<<"$after")" >>"$MEM"
  stop_started "$pid"
}

# ------------------------------------------------------------------- nginx
ME_TOKEN_FOR_NGINX=""   # sent to nginx too, so the requests are the same bytes
NGINX_PORT=""
start_nginx() {
  local dir="$WORK/nginx" locations attempt
  mkdir -p "$dir"
  # One location per endpoint: ringhouse's body verbatim inside a
  # single-quoted nginx string, and ringhouse's response headers, except the
  # ones nginx writes itself (Date, Server, Connection, Content-Length;
  # Content-Type becomes default_type). X-Request-Id gets a fixed value of
  # the same length, so the responses are about the same size on the wire.
  local specs=() e
  for e in "${ENDPOINTS[@]}"; do
    specs+=("${ENDPOINT_PATH[$e]}" "$WORK/ceiling-$e.headers" "$WORK/ceiling-$e.json")
  done
  locations=$(python3 - "${specs[@]}" <<'PY'
import sys

def quoted(s, quote):
    if "$" in s:
        sys.exit(f"{s[:60]!r} contains '$', which nginx would expand")
    return quote + s.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote

skip = {"date", "server", "connection", "content-length", "keep-alive", "transfer-encoding"}
args = sys.argv[1:]
for path, headers, body in zip(args[0::3], args[1::3], args[2::3]):
    content_type = "application/json"
    adds = []
    with open(headers, encoding="latin-1") as f:
        for line in f.read().splitlines()[1:]:
            if not line.strip() or ":" not in line:
                continue
            name, value = line.split(":", 1)
            value = value.strip()
            if name.lower() in skip:
                continue
            if name.lower() == "content-type":
                content_type = value
                continue
            if name.lower() == "x-request-id":
                value = "0" * len(value)
            adds.append(f"      add_header {name} {quoted(value, chr(34))};")
    text = open(body, encoding="utf-8").read()
    print(f"    location = {path} {{")
    print(f"      default_type {quoted(content_type, chr(34))};")
    print("\n".join(adds))
    print(f"      return 200 {quoted(text, chr(39))};")
    print("    }")
PY
  ) || die "cannot put ringhouse's responses into an nginx config"

  for attempt in 1 2 3 4 5; do
    NGINX_PORT=$(free_port)
    cat >"$dir/nginx.conf" <<NGINX
# Generated by bench/http_bench.sh: the ceiling for GET $(for e in "${ENDPOINTS[@]}"; do printf '%s ' "${ENDPOINT_PATH[$e]}"; done)
daemon off;
master_process on;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  # ringhouse keeps a keep-alive connection open as long as it is used.
  keepalive_requests 1000000;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
$locations
  }
}
NGINX
    "$NGINX" -t -q -e "$dir/error.log" -p "$dir/" -c "$dir/nginx.conf" 2>"$dir/test.log" ||
      { cat "$dir/test.log" >&2; die "nginx rejected the generated config $dir/nginx.conf"; }
    : >"$dir/error.log"
    "$NGINX" -e "$dir/error.log" -p "$dir/" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 </dev/null &
    NGINX_PID=$!
    STARTED_PIDS+=("$NGINX_PID")
    local _
    for _ in $(seq 1 50); do
      alive "$NGINX_PID" || break
      if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$NGINX_PORT${ENDPOINT_PATH[${ENDPOINTS[0]}]}"; then
        return 0
      fi
      sleep 0.1
    done
    stop_started "$NGINX_PID"
    if ! grep -q "Address already in use" "$dir/error.log" "$dir/stdout.log" 2>/dev/null; then
      cat "$dir/error.log" "$dir/stdout.log" >&2
      die "nginx did not start (log: $dir/error.log)"
    fi
    log "nginx: port $NGINX_PORT taken, retrying ($attempt)"
  done
  die "nginx could not bind a free port after 5 attempts"
}

bench_nginx() {
  local e missing=0
  for e in "${ENDPOINTS[@]}"; do [ -f "$WORK/ceiling-$e.json" ] || missing=1; done
  if [ "$missing" -eq 1 ]; then
    # --only nginx: start ringhouse once, just for its exact responses.
    log "nginx: fetching ringhouse's responses from a short-lived ringhouse (SQLite)"
    start_ringhouse ringhouse-body off
    local auth=()
    for e in "${ENDPOINTS[@]}"; do
      if [ "$e" = me ]; then
        create_bench_user ringhouse-body
        login ringhouse-body "$RH_PORT"
        ME_TOKEN_FOR_NGINX=$BEARER BEARER="" BENCH_PASSWORD=""
        auth=(-H "Authorization: Bearer $ME_TOKEN_FOR_NGINX")
      fi
      curl -sS --fail --max-time 5 -H "$HOST_HEADER" "${auth[@]}" -o "$WORK/ceiling-$e.json" \
        -D "$WORK/ceiling-$e.headers" "http://127.0.0.1:$RH_PORT${ENDPOINT_PATH[$e]}" ||
        die "could not GET ${ENDPOINT_PATH[$e]} from ringhouse"
    done
    stop_started "$RH_PID"
  fi
  log "nginx: starting $NGINX (worker_processes auto = $(nproc))"
  start_nginx
  for e in "${ENDPOINTS[@]}"; do
    curl -sS --fail --max-time 5 -H "$HOST_HEADER" -o "$WORK/nginx/$e.json" \
      "http://127.0.0.1:$NGINX_PORT${ENDPOINT_PATH[$e]}" || die "nginx: GET ${ENDPOINT_PATH[$e]} failed"
    cmp -s "$WORK/ceiling-$e.json" "$WORK/nginx/$e.json" ||
      die "nginx's body differs from ringhouse's ($WORK/ceiling-$e.json vs $WORK/nginx/$e.json)"
    # The same request bytes as ringhouse got: with the Authorization header
    # for /v1/me (nginx ignores it).
    [ "$e" != me ] || BEARER=$ME_TOKEN_FOR_NGINX
    measure "$e" nginx "nginx ceiling (static body, same bytes)" "$NGINX_PORT" nginx
    BEARER=""
  done
  stop_started "$NGINX_PID"
}

# --------------------------------------------------------------------- run
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$(date -u '+%Y-%m-%d %H:%M UTC')
log "work directory $WORK; binary $BIN ($RH_VERSION, ${BUILD_TYPE:-unknown build type})"
log "endpoints: ${ENDPOINTS[*]}; load average before: $LOAD_BEFORE"

if [ "$WANT_SQLITE" -eq 1 ]; then
  for mode in "${LOG_MODES[@]}"; do bench_ringhouse sqlite "$mode"; done
fi
if [ "$WANT_MARIADB" -eq 1 ]; then
  for mode in "${LOG_MODES[@]}"; do bench_ringhouse mariadb "$mode"; done
fi
if [ "$WANT_NGINX" -eq 1 ]; then
  bench_nginx
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then GIT_REV="$GIT_REV+dirty"; fi
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //' || echo "?")

python3 - "$RESULTS" "$MEM" <<PY
import sys

def rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]

res = rows(sys.argv[1])
mem = rows(sys.argv[2])
ms = lambda us: f"{int(us) / 1000:.2f}"
paths = {"branding": "/v1/branding", "me": "/v1/me"}
titles = {
    "branding": "GET /v1/branding (anonymous, one tenant row per request)",
    "me": "GET /v1/me (authenticated: Authorization: Bearer <access token>)",
}
# The accounts issue's goal for authenticated reads.
GOAL_RPS, GOAL_HALF_P99_MS, GOAL_RATIO = 20000, 5.0, 0.5

print(f"# HTTP benchmark, {'$STARTED_AT'}")
print()
print("Command: \`bench/http_bench.sh --duration $DURATION --connections $CONNECTIONS --threads $THREADS --only $ONLY --access-log $ACCESS_LOG\`  ")
print("Binary: \`$BIN\` ($RH_VERSION, ${BUILD_TYPE:-?}), git $GIT_REV; $NGINX_VERSION; $(nproc) CPUs shared by server and wrk; "
      "load average before $LOAD_BEFORE, after $LOAD_AFTER.")
print()
print("Maximum throughput: \`$WRK_MAX_CMD\` after a $WARMUP warm-up. "
      "Half load: the same $CONNECTIONS connections, each paced with a delay between requests "
      "(bench/wrk/paced.lua, calibrated by a $WARMUP run) to offer about half of that target's maximum; "
      "wrk has no constant-rate mode, so this is closed-loop pacing, not an open-loop fixed rate. "
      "/v1/me: a user made with \`ringhouse admin create-user\` on the same data directory or database, "
      "a token from POST /v1/auth/login (auth.access_token_ttl_s=$ACCESS_TTL_S), "
      "sent by the wrk scripts (BENCH_BEARER_TOKEN) and, unchanged, to nginx.")
for endpoint in ("branding", "me"):
    er = [r for r in res if r[0] == endpoint]
    if not er:
        continue
    nginx = next((float(r[3]) for r in er if r[1] == "nginx"), None)
    print()
    print(f"## {titles[endpoint]}")
    print()
    print("| target | requests/s | p50 ms | p99 ms | vs nginx | non-2xx | half load: req/s | half load: p99 ms | response bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for _, key, label, rps, p50, p99, non2xx, target, hrps, hp50, hp99, wire in er:
        ratio = f"{float(rps) / nginx:.2f}" if nginx else "n/a"
        print(f"| {label} | {float(rps):,.0f} | {ms(p50)} | {ms(p99)} | {ratio} | {non2xx} | "
              f"{float(hrps):,.0f} ({100 * float(hrps) / float(rps):.0f}%) | {ms(hp99)} | {wire} |")
    if endpoint == "me":
        print()
        print(f"Goal (accounts issue): at least {GOAL_RPS:,} authenticated reads/s, p99 under "
              f"{GOAL_HALF_P99_MS:g} ms at half that rate, and at least half of nginx's rate.")
        print()
        print("| target | ≥ 20,000 req/s | half-load p99 < 5 ms | ≥ 0.5 × nginx | all met |")
        print("|---|---|---|---|---|")
        yes = lambda ok: "yes" if ok else "**no**"
        for _, key, label, rps, p50, p99, non2xx, target, hrps, hp50, hp99, wire in er:
            if key == "nginx":
                continue
            a = float(rps) >= GOAL_RPS
            b = int(hp99) / 1000 < GOAL_HALF_P99_MS
            c = nginx is not None and float(rps) / nginx >= GOAL_RATIO
            print(f"| {label} | {yes(a)} ({float(rps):,.0f}) | {yes(b)} ({ms(hp99)} ms at {float(hrps):,.0f}/s) | "
                  + (f"{yes(c)} ({float(rps) / nginx:.2f})" if nginx else "n/a (no nginx run)")
                  + f" | {yes(a and b and c) if nginx or not (a and b) else 'n/a'} |")
        print()
        print("Half load here is half of the measured maximum (the paced run above): "
              "below 20,000 req/s maximum that is below the goal's 10,000 req/s.")
print()
print("non-2xx: for ringhouse, counted by the server (ringhouse_http_requests_total, every run); "
      "for nginx, wrk's count of statuses >= 400; every warm-up also counted each status exactly. "
      "Any non-2xx or socket error fails the run. Response bytes: headers + body on the wire.")
if mem:
    print()
    print("## ringhouse memory and threads")
    print()
    print("| target | idle RSS MiB | idle threads | RSS after load MiB | peak RSS MiB | threads after load |")
    print("|---|---:|---:|---:|---:|---:|")
    mib = lambda kb: f"{int(kb) / 1024:.1f}"
    for key, label, irss, ihwm, ithr, arss, ahwm, athr in mem:
        print(f"| {label} | {mib(irss)} | {ithr} | {mib(arss)} | {mib(ahwm)} | {athr} |")
    print()
    print("Idle: VmRSS ${IDLE_SETTLE} s after start-up, before any request. After load: right after the last run "
          "of the last endpoint measured. Peak: VmHWM; it includes Argon2id's working memory "
          "(auth.argon2_memory_kib, 19 MiB), reached at start-up already (the server computes one hash "
          "then) and again by the login before /v1/me. From /proc/PID/status.")
PY
log "done"
