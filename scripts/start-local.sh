#!/usr/bin/env bash
# Runs API + worker + scheduler on this machine from a fresh clone: installs dependencies, writes
# .env with fresh secrets on first use, builds, creates and migrates the database, then runs the
# three apps in the foreground. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ ! -f .env ]; then
  jwt_secret=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64url"))')
  encryption_key=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64"))')
  sed -e "s|^JWT_SECRET=.*|JWT_SECRET=${jwt_secret}|" -e "s|^ENCRYPTION_KEY=.*|ENCRYPTION_KEY=${encryption_key}|" .env.example > .env
  echo "Wrote .env with fresh JWT_SECRET and ENCRYPTION_KEY"
fi

npm run build
node --env-file-if-exists=.env dist/libs/database/src/cli/migrate.js

pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap stop INT TERM EXIT

for app in api worker scheduler; do
  node --env-file-if-exists=.env "dist/apps/${app}/src/main.js" &
  pids+=($!)
done
# Any app exiting (a crash, or a bad configuration) stops the others: nothing runs half up.
wait -n
