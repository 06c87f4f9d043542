#!/bin/sh
# Entry point of the mail-service image (PID 1 is tini, which runs this script).
#
#   entrypoint.sh api | worker | scheduler | migrate
#   entrypoint.sh healthcheck [api|worker|scheduler|migrate]
#   entrypoint.sh COMMAND [ARGS...]        anything else runs as given (e.g. sh)
#
# Each role `exec`s Node, so SIGTERM from the orchestrator reaches the process that implements
# graceful shutdown. The app folder is derived from this file's location so the same script
# works in the image (/app) and in scripts/check-runtime-image.sh's unpacked copy.
set -eu

app_dir=$(cd "$(dirname "$0")/.." && pwd)
cd "$app_dir"

# The role this container was started with, read from PID 1's arguments (tini -- entrypoint ROLE).
started_role() {
  if [ -r /proc/1/cmdline ]; then
    for arg in $(tr '\0' ' ' </proc/1/cmdline); do
      case $arg in
      api | worker | scheduler | migrate)
        echo "$arg"
        return
        ;;
      esac
    done
  fi
  echo api
}

# Exits 0 when the role's health listener answers 200. Ports follow the application's own rules:
# the current variable name wins over the legacy one, and an empty value means unset.
healthcheck() {
  role=${1:-$(started_role)}
  case $role in
  api) port=${PORT:-${FLASK_PORT:-5000}} ;;
  worker) port=${WORKER_HEALTH_PORT:-5001} ;;
  scheduler) port=${SCHEDULER_HEALTH_PORT:-5002} ;;
  # One-shot step with no listener: its exit code is its health.
  migrate) exit 0 ;;
  *)
    echo "healthcheck: unknown role '$role'" >&2
    exit 2
    ;;
  esac
  # 0 disables the worker's and scheduler's listener; there is nothing to probe.
  [ "$port" != 0 ] || exit 0
  # shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
  exec node -e '
    const url = `http://127.0.0.1:${process.argv[1]}/health`;
    fetch(url, { signal: AbortSignal.timeout(8000) }).then(
      (response) => process.exit(response.status === 200 ? 0 : 1),
      (error) => { process.stderr.write(`${url}: ${error.message}\n`); process.exit(1); },
    );
  ' "$port"
}

[ $# -gt 0 ] || set -- api
case $1 in
api)
  shift
  exec node dist/apps/api/src/main.js "$@"
  ;;
worker)
  shift
  exec node dist/apps/worker/src/main.js "$@"
  ;;
scheduler)
  shift
  exec node dist/apps/scheduler/src/main.js "$@"
  ;;
migrate)
  shift
  exec node dist/libs/database/src/cli/migrate.js "$@"
  ;;
healthcheck)
  shift
  healthcheck "$@"
  ;;
*)
  exec "$@"
  ;;
esac
