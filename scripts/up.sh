#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the release
# binary and the web app (web/dist) and runs `ringhouse up` with embedded defaults (./data, SQLite,
# http://localhost:8080). Extra arguments go to `ringhouse up`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release
bash scripts/build-web.sh
exec ./build/release/ringhouse up "$@"
