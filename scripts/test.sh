#!/usr/bin/env bash
# The whole test suite from a fresh clone: dependencies, lint, types, build, then unit,
# integration and e2e tests (which start their own PostgreSQL database, Redis prefix and
# Dovecot/Postfix, installing the mail servers with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The Swagger UI test drives a real browser; Debian's Chromium is the one that installs here.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

npm run lint
npm run format:check
npm run typecheck
npm run build
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --maxWorkers=2 "$@"
# Deployment files: compose (base + scale-out), nginx, Kubernetes schemas, mail-server images;
# then the image's npm build/prune steps replayed in a clean copy, every entrypoint started.
bash scripts/check-deployment.sh
bash scripts/check-runtime-image.sh
