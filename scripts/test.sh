#!/usr/bin/env bash
# The README's second command: installs what is missing, builds with the dev
# preset (warnings as errors) and runs every test: unit and end-to-end, on
# SQLite and on a real MariaDB server that the tests start themselves.
# Extra arguments go to ctest (e.g. -R Jobs, -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test
# The SMSC peer of the SMPP session tests (npm smpp, tests/support/smsc/).
if [ -f tests/support/smsc/package-lock.json ]; then
  npm ci --prefix tests/support/smsc --no-audit --no-fund --loglevel=error
fi
# The web app its tests drive in Chromium (web/tests/e2e).
bash scripts/build-web.sh
preset=${RINGHOUSE_PRESET:-dev}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" "$@"
