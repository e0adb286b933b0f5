#!/usr/bin/env bash
# Build-time benchmark for the `dev` preset (see bench/README.md).
#
#   bench/build_times.sh [--jobs 2] [--build-dir build/bench-dev] [--file src/api/routes.cpp]
#
# Measures, in a build directory of its own (never build/dev):
#   1. configure time (fresh directory);
#   2. clean build with ccache disabled (CCACHE_DISABLE=1)  — the honest compile cost;
#   3. incremental build of one changed .cpp (its object file is deleted, which
#      makes Ninja do exactly what a `touch` would: recompile it, relink what
#      depends on it — without changing the shared source tree), ccache disabled;
#   4. clean build with a warm ccache (a private cache, filled by a populating
#      build first, so the result does not depend on the state of ~/.ccache).
# and prints a Markdown table of wall-clock seconds. The cache variables and
# generator are read from CMakePresets.json (preset "dev"), so the build matches
# `cmake --preset dev` except for its directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=2
BUILD_DIR="build/bench-dev"
TOUCH_FILE="src/api/routes.cpp"
PRESET="dev"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  exit "${1:-2}"
}

die() {
  log "FAILED: $*"
  exit 1
}
log() { echo "build_times: $*" >&2; }   # progress: stderr; the table: stdout

while [ $# -gt 0 ]; do
  case "$1" in
    --jobs|-j) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs a value}; shift 2 ;;
    --file) TOUCH_FILE=${2:?--file needs a value}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "build_times: unknown argument: $1" >&2; usage 2 ;;
  esac
done

cd "$ROOT"
[[ "$JOBS" =~ ^[0-9]+$ ]] || die "--jobs must be a number, got '$JOBS'"
[ -f "$TOUCH_FILE" ] || die "--file '$TOUCH_FILE' does not exist"
case "$BUILD_DIR" in
  build/dev|build/dev/|build/release|build/release/|build/asan|build/asan/|/*|*..*)
    die "--build-dir must be a fresh directory under build/ (not a preset's own), got '$BUILD_DIR'" ;;
esac
for tool in cmake ninja ccache python3; do
  command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh build)"
done

# Generator and cache variables of the preset, resolving "inherits".
mapfile -t PRESET_ARGS < <(python3 - "$ROOT/CMakePresets.json" "$PRESET" <<'PY'
import json, sys
presets = {p["name"]: p for p in json.load(open(sys.argv[1]))["configurePresets"]}
def resolve(name):
    p = presets[name]
    gen, cache = None, {}
    parents = p.get("inherits", [])
    if isinstance(parents, str):
        parents = [parents]
    for parent in parents:
        g, c = resolve(parent)
        gen = gen or g
        cache.update(c)
    cache.update(p.get("cacheVariables", {}))
    return p.get("generator", gen), cache
gen, cache = resolve(sys.argv[2])
print("-G")
print(gen or "Ninja")
for k, v in cache.items():
    if isinstance(v, dict):
        v = v.get("value", "")
    if isinstance(v, bool):
        v = "ON" if v else "OFF"
    print(f"-D{k}={v}")
PY
)
[ ${#PRESET_ARGS[@]} -gt 2 ] || die "could not read preset '$PRESET' from CMakePresets.json"

CCACHE_PRIVATE="$ROOT/$BUILD_DIR.ccache"
LOG_DIR="$ROOT/$BUILD_DIR.logs"
mkdir -p "$LOG_DIR"

# Wall-clock seconds (1 decimal) taken by "$@"; the command's output goes to a log.
timed() {
  local logfile=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "'$*' failed; full log: $logfile"
  fi
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.1f}')"
}

configure() {
  rm -rf "${ROOT:?}/$BUILD_DIR"
  cmake -S "$ROOT" -B "$ROOT/$BUILD_DIR" "${PRESET_ARGS[@]}"
}

build() {
  cmake --build "$ROOT/$BUILD_DIR" -j "$JOBS"
}

n_objects() {
  find "$ROOT/$BUILD_DIR" -name '*.o' | wc -l
}

log "preset '$PRESET' in $BUILD_DIR, -j$JOBS: $(printf '%q ' "${PRESET_ARGS[@]}")"
log "logs in $LOG_DIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then GIT_REV="$GIT_REV+dirty"; fi
log "load average before start: $LOAD_BEFORE"

# 1-2. Clean build, ccache disabled.
export CCACHE_DISABLE=1
t_configure=$(timed "$LOG_DIR/1-configure.log" configure)
log "configure                 ${t_configure}s"
t_clean=$(timed "$LOG_DIR/2-clean-no-ccache.log" build)
objects=$(n_objects)
log "clean build, no ccache    ${t_clean}s ($objects object files)"

# 3. Incremental: one "touched" .cpp — its object file(s) removed, so Ninja
#    recompiles it and relinks its dependents, as after an edit.
mapfile -t touched_objs < <(find "$ROOT/$BUILD_DIR/$(dirname "$TOUCH_FILE")" \
  -path "*/CMakeFiles/*.dir/$(basename "$TOUCH_FILE").o" 2>/dev/null)
[ ${#touched_objs[@]} -gt 0 ] || die "no object file for $TOUCH_FILE under $BUILD_DIR"
rm -f "${touched_objs[@]}"
t_incr=$(timed "$LOG_DIR/3-incremental.log" build)
steps=$(grep -c '^\[[0-9]*/[0-9]*\]' "$LOG_DIR/3-incremental.log" || true)
log "incremental ($TOUCH_FILE) ${t_incr}s ($steps build steps)"
unset CCACHE_DISABLE

# 4. Clean build with a warm (private) ccache: populate it, then rebuild from scratch.
export CCACHE_DIR="$CCACHE_PRIVATE"
rm -rf "$CCACHE_PRIVATE"
timed "$LOG_DIR/4a-configure.log" configure >/dev/null
t_populate=$(timed "$LOG_DIR/4b-populate-ccache.log" build)
log "clean build, cold ccache  ${t_populate}s (fills the cache)"
timed "$LOG_DIR/4c-configure.log" configure >/dev/null
ccache --zero-stats >/dev/null
t_warm=$(timed "$LOG_DIR/4d-clean-warm-ccache.log" build)
hits=$(ccache --print-stats 2>/dev/null | awk -F'\t' '$1=="direct_cache_hit"||$1=="preprocessed_cache_hit"{s+=$2} END{print s+0}')
misses=$(ccache --print-stats 2>/dev/null | awk -F'\t' '$1=="cache_miss"{print $2+0}')
log "clean build, warm ccache  ${t_warm}s (ccache hits $hits, misses ${misses:-?})"
unset CCACHE_DIR

cat <<EOF

## Build times (preset \`$PRESET\`, -j$JOBS, $(nproc) CPUs)

$(date -u '+%Y-%m-%d %H:%M UTC') — \`bench/build_times.sh --jobs $JOBS --file $TOUCH_FILE\` on git $GIT_REV; load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)

| build | wall-clock s |
|---|---:|
| configure (fresh directory) | $t_configure |
| clean build, ccache disabled ($objects objects) | $t_clean |
| incremental: \`$TOUCH_FILE\` changed ($steps steps) | $t_incr |
| clean build, cold ccache (populating) | $t_populate |
| clean build, warm ccache ($hits hits, ${misses:-?} misses) | $t_warm |

Clean builds compile the whole default target (ringhouse and the tests).
EOF
