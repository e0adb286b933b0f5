#!/usr/bin/env bash
# Installs every Debian package Ringhouse needs to build, run and test.
# Idempotent: packages already present are skipped; apt runs only when
# something is missing. Used by the README's commands and by .ci/run.
set -euo pipefail

# Build toolchain and libraries (the backend).
build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-all-dev
  libsqlite3-dev sqlite3
  libjemalloc-dev
  libmariadb-dev
  libssl-dev libsodium-dev libcurl4-openssl-dev
  libphonenumber8 libprotobuf-dev libabsl-dev

  libtomlplusplus-dev libhowardhinnant-date-dev tzdata
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
)
# The SIP edge `ringhouse up` spawns and supervises: Kamailio with the
# modules its configuration loads (src/voice/edge/kamailio.cfg) and rtpengine
# in userspace mode.
edge_pkgs=(
  kamailio kamailio-json-modules kamailio-utils-modules kamailio-tls-modules
  kamailio-websocket-modules kamailio-extra-modules
  rtpengine-daemon
)
# Test peers and tools. sipp plays carrier trunks, baresip users' devices,
# Chromium runs the web app's tests (web/tests/e2e, through playwright-core).
test_pkgs=(
  sip-tester baresip chromium
  mariadb-server mariadb-client
  curl python3
)
# Benchmarks (bench/). kannel: the SMS gateway bench/messaging_bench.sh
# compares ringhouse's SMPP throughput with (bearerbox + smsbox, on the same SMSC);
# time: /usr/bin/time, the sipp CPU figures of bench/voice_bench.sh.
bench_pkgs=(wrk nginx-light kannel time)

want=("${build_pkgs[@]}" "${edge_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

# Node.js and npm build the web app (web/, scripts/build-web.sh) and run the
# SMSC peer of the SMPP tests (tests/support/smsc/). Machines that already
# have them (e.g. Node 20 from NodeSource, whose package bundles npm) keep
# theirs: Debian's npm would pull Debian's nodejs (18, older than Vite needs;
# scripts/build-web.sh says so).
if ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# libphonenumber's headers: Debian 12's libphonenumber-dev depends on Boost
# 1.74's development packages, which conflict with libboost1.81-dev. The
# library itself (libphonenumber8) installs fine, so the headers are taken from
# Debian's libphonenumber-dev package without installing it, into a prefix of
# their own that CMake looks in (cmake/Dependencies.cmake).
phonenumber_prefix=/usr/local/lib/ringhouse/libphonenumber
install_phonenumber_headers() {
  [ -f "$phonenumber_prefix/include/phonenumbers/phonenumberutil.h" ] && return 0
  echo "install-deps: extracting libphonenumber headers into $phonenumber_prefix"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download libphonenumber-dev >/dev/null 2>&1) ||
    { $SUDO apt-get update -qq && (cd "$tmp" && apt-get download libphonenumber-dev >/dev/null 2>&1); }
  dpkg-deb -x "$tmp"/libphonenumber-dev_*.deb "$tmp/root"
  $SUDO mkdir -p "$phonenumber_prefix"
  $SUDO cp -r "$tmp/root/usr/include" "$phonenumber_prefix/"
  rm -rf "$tmp"
}

if [ ${#missing[@]} -eq 0 ]; then
  install_phonenumber_headers
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian from starting mariadb/nginx/kannel as system services on
# install: Ringhouse starts its own instances on private ports when it needs them.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_phonenumber_headers
