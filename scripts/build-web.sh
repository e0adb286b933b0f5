#!/usr/bin/env bash
# Builds the user web app (web/) into web/dist, which ringhouse serves at /.
# npm packages come from the committed lockfile (npm ci). Skips the install
# when web/node_modules already matches the lockfile.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v node >/dev/null 2>&1; then
  echo "build-web: Node.js is not installed (the web app needs Node.js 20.19 or later and npm)" >&2
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "build-web: Node.js $(node --version) is too old: Vite needs 20.19 or later" >&2
  exit 1
fi
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.lock-sha256 2>/dev/null)" != "$lock_hash" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.lock-sha256
fi
npm run build --silent
