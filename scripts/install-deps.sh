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
  libmariadb-dev
  libssl-dev libsodium-dev libcurl4-openssl-dev

  libtomlplusplus-dev
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
)
# Test peers and tools.
test_pkgs=(
  mariadb-server mariadb-client
  curl python3
)
# Benchmarks (bench/).
bench_pkgs=(wrk nginx-light)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian from starting mariadb/nginx as system services on
# install: Ringhouse starts its own instances on private ports when it needs them.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
