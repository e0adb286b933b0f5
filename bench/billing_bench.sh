#!/usr/bin/env bash
# Numbers and billing figures (see bench/README.md):
#   rating     RateDeck longest-prefix lookups/s on a 100,000-prefix deck, and
#              rate-deck CSV parsing rows/s (bench/rating_bench.cpp)
#   ledger     ledger postings/s on SQLite (fsync per commit, and without) and
#              on MariaDB (bench/ledger_bench.cpp; a throwaway MariaDB server)
#   purchase   POST /v1/numbers latency with the local provider, one at a time
#              (p50/p90/p99) and 8 at a time (purchases/s), against the
#              release binary
#
#   bench/billing_bench.sh [--only rating,ledger,purchase] [--seconds 5]
#                          [--purchases 300] [--no-build]
#
# Progress goes to stderr, the Markdown report to stdout. Nothing is written
# to bench/RESULTS.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/bench-release"
ONLY="rating,ledger,purchase"
SECONDS_EACH=5
PURCHASES=300
BUILD_IT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY=$2; shift 2 ;;
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --purchases) PURCHASES=$2; shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
log() { echo "[billing_bench] $*" >&2; }

WORK=$(mktemp -d /tmp/billing-bench.XXXXXX)
MARIADB_DIR=""
RH_PID=""
cleanup() {
  local rc=$?
  [ -n "$RH_PID" ] && kill "$RH_PID" 2>/dev/null && wait "$RH_PID" 2>/dev/null || true
  [ -n "$MARIADB_DIR" ] && "$ROOT/tests/support/mariadb-server.sh" stop "$MARIADB_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

if [ "$BUILD_IT" -eq 1 ]; then
  log "building the release binaries in $BUILD"
  cmake --preset release -B "$BUILD" -DRINGHOUSE_BENCH=ON >/dev/null
  cmake --build "$BUILD" --target ringhouse ledger_bench rating_bench >&2
fi

echo "## Numbers and billing ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "Command: \`bench/billing_bench.sh --only $ONLY --seconds $SECONDS_EACH --purchases $PURCHASES\`"
echo

if want rating; then
  log "rating"
  echo '### Rating'
  echo '```'
  "$BUILD/bench/rating_bench"
  echo '```'
fi

if want ledger; then
  log "ledger on SQLite"
  echo '### Ledger postings (2 threads; each transaction is one debit: two postings)'
  echo '```'
  "$BUILD/bench/ledger_bench" --driver sqlite --threads 2 --seconds "$SECONDS_EACH"
  "$BUILD/bench/ledger_bench" --driver sqlite --threads 2 --seconds "$SECONDS_EACH" --sqlite-sync normal
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    log "ledger on MariaDB (a throwaway server)"
    MARIADB_DIR="$WORK/mariadb"
    url=$("$ROOT/tests/support/mariadb-server.sh" start "$MARIADB_DIR")
    [[ "$url" =~ ^mariadb://([^:@/]+):([^@/]+)@127\.0\.0\.1:([0-9]+)/$ ]] || { log "unexpected URL $url"; exit 1; }
    MYSQL_PWD="${BASH_REMATCH[2]}" mariadb --no-defaults -h127.0.0.1 -P "${BASH_REMATCH[3]}" \
      -u "${BASH_REMATCH[1]}" -e 'CREATE DATABASE ledger_bench' >&2
    for t in 2 8; do
      "$BUILD/bench/ledger_bench" --driver mariadb --url "${url}ledger_bench" --threads "$t" --seconds "$SECONDS_EACH"
    done
  else
    echo "(MariaDB is not installed: scripts/install-deps.sh test)"
  fi
  echo '```'
fi

if want purchase; then
  log "purchase latency"
  BIN="$BUILD/ringhouse"
  DATA="$WORK/data"
  ARGS=(--data-dir "$DATA" --set log.access_log=off --set log.level=warn --set jobs.poll_ms=200)
  "$BIN" serve "${ARGS[@]}" --http-port 0 >"$WORK/ringhouse.log" 2>&1 &
  RH_PID=$!
  for _ in $(seq 1 100); do [ -s "$DATA/run/http.json" ] && break; sleep 0.1; done
  PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$DATA/run/http.json")
  API="http://127.0.0.1:$PORT"
  OP=$(cat "$DATA/secrets/operator-token")
  N=$((PURCHASES * 2 + 100))
  { echo "number,trunk,messaging_route,monthly_price,upfront_price"
    for i in $(seq 0 $((N - 1))); do printf '+1415%07d,trunk,route,0.01,0.00\n' "$((2000000 + i))"; done
  } >"$WORK/dids.csv"
  "$BIN" admin import-numbers "${ARGS[@]}" "$WORK/dids.csv" >&2
  PW="bench password $(date +%s%N)"
  echo "$PW" | "$BIN" admin create-user --email buyer@bench.example --password-stdin "${ARGS[@]}" >"$WORK/user.json"
  USER_ID=$(sed -n 's/.*"id":"\(usr_[^"]*\)".*/\1/p' "$WORK/user.json")
  TENANT=$(curl -s -H "Authorization: Bearer $OP" "$API/v1/admin/tenants" | sed -n 's/.*"id":"\(ten_[^"]*\)".*/\1/p' | head -1)
  curl -s -o /dev/null -X PATCH -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
    -d '{"limits":{"max_numbers_per_user":100000}}' "$API/v1/admin/tenants/$TENANT"
  curl -s -o /dev/null -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
    -d '{"amount":"100000","reason":"bench"}' "$API/v1/admin/users/$USER_ID/balance-adjustments"
  TOKEN=$(curl -s -H 'Content-Type: application/json' \
    -d "{\"email\":\"buyer@bench.example\",\"password\":\"$PW\"}" "$API/v1/auth/login" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  buy() {  # buy INDEX -> "status seconds"
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" \
      -H "Idempotency-Key: bench-$1" -H 'Content-Type: application/json' \
      -d "$(printf '{"phone_number":"+1415%07d"}' "$((2000000 + $1))")" "$API/v1/numbers"
  }
  export -f buy; export TOKEN API
  for i in $(seq 0 $((PURCHASES - 1))); do buy "$i"; done >"$WORK/seq.txt"
  start=$(date +%s.%N)
  seq "$PURCHASES" $((2 * PURCHASES - 1)) | xargs -P 8 -I{} bash -c 'buy {}' >"$WORK/par.txt"
  end=$(date +%s.%N)
  ok_seq=$(grep -c '^201 ' "$WORK/seq.txt" || true)
  ok_par=$(grep -c '^201 ' "$WORK/par.txt" || true)
  pctl() { awk '{print $2*1000}' "$1" | sort -n | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p); if (i<1) i=1; printf "%.1f", a[i]}'; }
  echo '### Purchase (local provider, SQLite, one process)'
  echo
  echo "| run | purchases | 201s | p50 ms | p90 ms | p99 ms | purchases/s |"
  echo "|---|---|---|---|---|---|---|"
  seq_total=$(awk '{s+=$2} END {print s}' "$WORK/seq.txt")
  echo "| one at a time | $PURCHASES | $ok_seq | $(pctl "$WORK/seq.txt" 0.5) | $(pctl "$WORK/seq.txt" 0.9) | $(pctl "$WORK/seq.txt" 0.99) | $(awk -v n="$PURCHASES" -v t="$seq_total" 'BEGIN{printf "%.0f", n/t}') |"
  echo "| 8 at a time | $PURCHASES | $ok_par | $(pctl "$WORK/par.txt" 0.5) | $(pctl "$WORK/par.txt" 0.9) | $(pctl "$WORK/par.txt" 0.99) | $(awk -v n="$PURCHASES" -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", n/(b-a)}') |"
  bal=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/balance")
  echo
  echo "Balance after: \`$bal\`; \`ringhouse admin check-ledger\`: $("$BIN" admin check-ledger "${ARGS[@]}" 2>&1 | tr '\n' ' ')"
fi
