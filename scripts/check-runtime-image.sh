#!/usr/bin/env bash
# Proves, without a Docker engine, that the runtime image built by docker/Dockerfile has
# everything each role needs: nothing required at run time was pruned or left behind.
#
#   scripts/check-runtime-image.sh
#
# 1. Build context: git-tracked files plus working-tree changes (untracked files included, deleted
#    ones left out), filtered by .dockerignore, copied into a temp folder.
# 2. Builder stage: replays the Dockerfile's builder COPY lines and `RUN npm ...` lines in order
#    (npm ci, npm run build, npm prune --omit=dev), read from the Dockerfile itself so the two
#    cannot drift apart. Any builder instruction this script cannot replay faithfully fails it.
# 3. Runtime stage: replays the runtime COPY lines (from the builder and from the context) into an
#    empty tree and the ENV lines into the environment, then runs docker/entrypoint.sh from that
#    tree for every role, with `env -i` so nothing from this shell leaks in:
#      migrate    into a fresh database mail_imagecheck_<random> (dropped at the end)
#      api        on a free port; GET /health must answer 200 with "status":"healthy"
#      worker     its health port must answer 200, unless it refuses to start because a job has
#                 no processor yet (its own fail-fast check, reported as such)
#      scheduler  its health port must answer 200
#    plus the image's HEALTHCHECK command (`entrypoint.sh healthcheck ROLE`) for each role, and
#    SIGTERM for each (graceful shutdown, timed).
# A missing module (ERR_MODULE_NOT_FOUND and friends) anywhere fails the script.
#
# Needs PostgreSQL (trust auth for the admin user) and Redis on this machine:
#   IMAGECHECK_ADMIN_DATABASE_URL  default postgresql://postgres@127.0.0.1:5432/postgres
#   IMAGECHECK_REDIS_URL           default redis://127.0.0.1:6379/0
#   IMAGECHECK_KEEP=1              keep the temp folder (builder and runtime trees, logs)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCKERFILE=$ROOT/docker/Dockerfile
ADMIN_URL=${IMAGECHECK_ADMIN_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${IMAGECHECK_REDIS_URL:-redis://127.0.0.1:6379/0}
KEEP=${IMAGECHECK_KEEP:-0}
START_TIMEOUT=60
STOP_TIMEOUT=20

RUN_ID=$(date +%s | tail -c 7)$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
DB_NAME=mail_imagecheck_$RUN_ID
APP_ROLE=mail_imagecheck_${RUN_ID}_app
KEY_PREFIX=imagecheck-$RUN_ID
WORK=$(mktemp -d /tmp/imagecheck.XXXXXX)
CONTEXT=$WORK/context
LOGS=$WORK/logs
mkdir -p "$CONTEXT" "$LOGS"

declare -A STAGE_ROOT=() PIDS=() ARG_DEFAULTS=()
declare -a RUNTIME_ENV=() TIMINGS=() NOTES=()
DB_CREATED=0
FAILED=1

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
fail() {
  printf '\ncheck-runtime-image: FAILED: %s\n' "$*" >&2
  exit 1
}
timed() {
  local label=$1 start=$SECONDS
  shift
  "$@"
  TIMINGS+=("$(printf '%-34s %4ds' "$label" $((SECONDS - start)))")
}

psql_admin() { psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -qAtX "$@"; }

stop_role() {
  local role=$1 pid=${PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    # The role was started in its own session (setsid): its group holds any forked children.
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$role]"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for role in "${!PIDS[@]}"; do stop_role "$role"; done
  if ((DB_CREATED)); then
    psql_admin -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || say "warning: could not drop database $DB_NAME"
    psql_admin -c "DROP ROLE IF EXISTS \"$APP_ROLE\"" >/dev/null 2>&1 || say "warning: could not drop role $APP_ROLE"
  fi
  local keys
  keys=$(redis-cli -u "$REDIS_URL" --scan --pattern "$KEY_PREFIX:*" 2>/dev/null || true)
  [[ -z $keys ]] || printf '%s\n' "$keys" | xargs -r -n 500 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
  if ((KEEP)) || ((status != 0 && FAILED)); then
    ((status == 0)) || say "logs and trees kept in $WORK"
    ((KEEP)) && say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Dockerfile reading

# One logical instruction per line: continuation lines joined, comments and blank lines dropped
# (Docker drops comment lines inside a continuation too).
dockerfile_instructions() {
  sed -e 's/\r$//' "$DOCKERFILE" | awk '
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*$/ { if (acc == "") next }
    {
      line = $0
      if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); acc = acc line " "; next }
      acc = acc line
      gsub(/[[:space:]]+/, " ", acc); sub(/^ /, "", acc); sub(/ $/, "", acc)
      if (acc != "") print acc
      acc = ""
    }'
}

# Replaces ${NAME} and $NAME with the Dockerfile's ARG defaults.
expand_args() {
  local text=$1 name
  for name in "${!ARG_DEFAULTS[@]}"; do
    text=${text//\$\{$name\}/${ARG_DEFAULTS[$name]}}
    text=${text//\$$name/${ARG_DEFAULTS[$name]}}
  done
  printf '%s' "$text"
}

# COPY [--from=STAGE] [--chown=...] [--chmod=MODE] [--link] SRC... DEST
replay_copy() {
  local stage=$1 workdir=$2 rest=$3 from='' chmod='' word
  local -a words srcs
  read -r -a words <<<"$rest"
  while [[ ${words[0]} == --* ]]; do
    word=${words[0]}
    case $word in
    --from=*) from=${word#--from=} ;;
    --chmod=*) chmod=${word#--chmod=} ;;
    --chown=* | --link) ;;
    *) fail "Dockerfile: COPY option $word is not understood by this script" ;;
    esac
    words=("${words[@]:1}")
  done
  ((${#words[@]} >= 2)) || fail "Dockerfile: COPY needs a source and a destination: COPY $rest"
  local dest=${words[-1]} src_root
  srcs=("${words[@]:0:${#words[@]}-1}")
  if [[ -n $from ]]; then
    src_root=${STAGE_ROOT[$from]:-}
    [[ -n $src_root ]] || fail "Dockerfile: COPY --from=$from names no earlier stage"
  else
    src_root=$CONTEXT
  fi
  local root=${STAGE_ROOT[$stage]} target
  if [[ $dest == /* ]]; then target=$root$dest; else target=$root$workdir/$dest; fi

  local src path matched
  for src in "${srcs[@]}"; do
    src=${src#/}
    matched=0
    shopt -s nullglob
    # Globs in a COPY source (tsconfig*.json) match like the shell's.
    # shellcheck disable=SC2206
    local -a paths=($src_root/$src)
    shopt -u nullglob
    for path in "${paths[@]}"; do
      [[ -e $path ]] || continue
      matched=1
      if [[ -d $path ]]; then
        # Docker copies a directory's contents, not the directory itself.
        mkdir -p "$target"
        cp -a "$path/." "$target/"
      elif [[ $dest == */ || ${#srcs[@]} -gt 1 ]]; then
        mkdir -p "$target"
        cp -a "$path" "$target/"
      else
        mkdir -p "$(dirname "$target")"
        cp -a "$path" "$target"
      fi
    done
    ((matched)) || fail "Dockerfile: COPY source '$src' does not exist in ${from:-the build context} (docker build would fail the same way)"
  done
  if [[ -n $chmod ]]; then
    if [[ $dest == */ || ${#srcs[@]} -gt 1 ]]; then
      for src in "${srcs[@]}"; do chmod "$chmod" "$target/$(basename "$src")"; done
    else
      chmod "$chmod" "$target"
    fi
  fi
  say "   COPY ${from:+--from=$from }${srcs[*]} -> $dest"
}

# Builder RUN lines must be plain npm commands: anything else could not be replayed here the
# way the image runs it, and the check would stop proving what it claims.
replay_builder_run() {
  local workdir=$1 command=$2
  while [[ $command == --* ]]; do command=${command#* }; done
  [[ $command =~ ^npm\ [a-z] && $command != *'$'* && $command != *'&&'* && $command != *';'* ]] ||
    fail "Dockerfile: builder RUN '$command' is not a single npm command; extend scripts/check-runtime-image.sh to replay it"
  say "   RUN $command"
  (
    cd "${STAGE_ROOT[builder]}$workdir"
    # As in the image: no NODE_ENV in the builder (npm ci would skip devDependencies).
    env -u NODE_ENV -u NODE_OPTIONS -u NODE_PATH npm_config_update_notifier=false \
      bash -c "$command" </dev/null >>"$LOGS/builder.log" 2>&1
  ) || {
    tail -n 40 "$LOGS/builder.log" >&2
    fail "builder step '$command' failed (log: $LOGS/builder.log)"
  }
}

# ENV KEY=VALUE ... (the only form the Dockerfile uses; quotes are stripped).
replay_env() {
  local rest word key value
  rest=$(expand_args "$1")
  read -r -a words <<<"$rest"
  for word in "${words[@]}"; do
    [[ $word == *=* ]] || fail "Dockerfile: ENV must use the KEY=VALUE form: ENV $1"
    key=${word%%=*}
    value=${word#*=}
    value=${value#\"}
    value=${value%\"}
    RUNTIME_ENV+=("$key=$value")
  done
}

replay_dockerfile() {
  local stage='' workdir=/ keyword rest
  while IFS= read -r instruction; do
    keyword=${instruction%% *}
    keyword=${keyword^^}
    rest=${instruction#* }
    case $keyword in
    ARG)
      # Global and stage ARGs with defaults; build-time overrides are not modelled.
      [[ $rest == *=* ]] && ARG_DEFAULTS[${rest%%=*}]=${rest#*=}
      ;;
    FROM)
      [[ $rest =~ ^(--[^ ]+ )*([^ ]+)\ [Aa][Ss]\ ([A-Za-z0-9_.-]+)$ ]] ||
        fail "Dockerfile: every stage needs a name (FROM IMAGE AS NAME): FROM $rest"
      stage=${BASH_REMATCH[3]}
      workdir=/
      STAGE_ROOT[$stage]=$WORK/stages/$stage
      mkdir -p "${STAGE_ROOT[$stage]}"
      say "-- stage $stage ($(expand_args "${BASH_REMATCH[2]}"))"
      ;;
    WORKDIR)
      [[ $rest == /* ]] || fail "Dockerfile: WORKDIR must be absolute: $rest"
      workdir=$rest
      mkdir -p "${STAGE_ROOT[$stage]}$workdir"
      ;;
    COPY)
      replay_copy "$stage" "$workdir" "$rest"
      ;;
    RUN)
      if [[ $stage == builder ]]; then
        timed "builder: ${rest:0:26}" replay_builder_run "$workdir" "$rest"
      elif [[ $rest =~ ^chmod\ ([0-7]{3,4})\ (/[^ ]+)$ ]]; then
        chmod "${BASH_REMATCH[1]}" "${STAGE_ROOT[$stage]}${BASH_REMATCH[2]}" ||
          fail "Dockerfile: RUN $rest: no such file in the $stage stage"
        say "   RUN $rest"
      else
        # System packages and folders (tini, /var/log/mail-service) are not part of the app tree.
        say "   (not replayed: RUN ${rest:0:60}...)"
      fi
      ;;
    ENV)
      [[ $stage != builder ]] || fail "Dockerfile: ENV in the builder stage would change what npm does; the script cannot replay it"
      replay_env "$rest"
      ;;
    LABEL | USER | EXPOSE | HEALTHCHECK | ENTRYPOINT | CMD | STOPSIGNAL) ;;
    *) fail "Dockerfile: instruction $keyword is not understood by this script" ;;
    esac
  done < <(dockerfile_instructions)
  [[ -n ${STAGE_ROOT[builder]:-} && -n ${STAGE_ROOT[runtime]:-} ]] ||
    fail "Dockerfile: expected stages named builder and runtime"
}

# ---------------------------------------------------------------------------------------------
# Build context

# .dockerignore semantics: patterns relative to the context root, `*` and `?` stay within one
# path segment, `**` spans any number of segments, a pattern that matches a folder excludes
# everything below it, `!` re-includes, the last matching line wins.
filter_dockerignore() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("node:fs");
    const lines = fs.existsSync(".dockerignore") ? fs.readFileSync(".dockerignore", "utf8").split("\n") : [];
    const rules = lines.map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      let re = "";
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*" && pattern[i + 1] === "*") { re += ".*"; i++; if (pattern[i + 1] === "/") { re = re.slice(0, -2) + "(?:.*/)?"; i++; } }
        else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
      }
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
    const files = fs.readFileSync(0, "utf8").split("\0").filter(Boolean);
    for (const file of files) {
      let excluded = false;
      for (const rule of rules) if (rule.re.test(file)) excluded = !rule.negate;
      if (!excluded) process.stdout.write(file + "\0");
    }
  '
}

copy_context() {
  cd "$ROOT"
  local count
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do [[ -e $file || -L $file ]] && printf '%s\0' "$file"; done |
    filter_dockerignore >"$WORK/context.files"
  count=$(tr -cd '\0' <"$WORK/context.files" | wc -c)
  tar -C "$ROOT" --null -T "$WORK/context.files" -cf - | tar -C "$CONTEXT" -xf -
  say "   $count files in the build context (git-tracked and untracked, minus .dockerignore)"
  [[ ! -e $CONTEXT/.env ]] || fail ".dockerignore lets .env into the build context"
  [[ ! -e $CONTEXT/node_modules && ! -e $CONTEXT/dist ]] || fail "node_modules or dist reached the build context"
}

# ---------------------------------------------------------------------------------------------
# Runtime

free_port() {
  node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });'
}

database_url() {
  local user=$1 url=$ADMIN_URL
  url=${url%/*}/$DB_NAME
  [[ -z $user ]] || url=$(printf '%s' "$url" | sed -E "s#^(postgres(ql)?://)([^@/]*@)?#\\1$user@#")
  printf '%s' "$url"
}

# Runs docker/entrypoint.sh from the runtime tree with only the image's ENV and the
# deployment's variables: the same inputs a container gets.
runtime_env() {
  env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK/home" TMPDIR="$WORK/tmp" \
    "${RUNTIME_ENV[@]}" "${APP_ENV[@]}" "$@"
}

start_role() {
  local role=$1
  : >"$LOGS/$role.log"
  # Its own session and process group, so cleanup can reach children the role forks (API cluster).
  setsid env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$WORK/home" TMPDIR="$WORK/tmp" \
    "${RUNTIME_ENV[@]}" "${APP_ENV[@]}" "$ENTRYPOINT" "$role" </dev/null >>"$LOGS/$role.log" 2>&1 &
  PIDS[$role]=$!
}

missing_module_in() {
  grep -E -m 3 "ERR_MODULE_NOT_FOUND|Cannot find module|Cannot find package|ERR_UNSUPPORTED_DIR_IMPORT|ERR_PACKAGE_PATH_NOT_EXPORTED" "$1"
}

fail_with_log() {
  local role=$1 reason=$2 missing
  say "--- $LOGS/$role.log (tail) ---" >&2
  tail -n 30 "$LOGS/$role.log" >&2
  if missing=$(missing_module_in "$LOGS/$role.log"); then
    fail "$role: a module needed at run time is missing from the runtime image: $missing"
  fi
  fail "$role: $reason"
}

# Polls GET /health until it answers 200 with "status":"healthy", or the process exits.
wait_healthy() {
  local role=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT)) body code
  while ((SECONDS < deadline)); do
    if ! kill -0 "${PIDS[$role]}" 2>/dev/null; then
      return 3
    fi
    body=$(curl -sS -m 5 -o - -w '\n%{http_code}' "http://127.0.0.1:$port/health" 2>/dev/null) || body=
    code=${body##*$'\n'}
    if [[ $code == 200 && $body == *'"status":"healthy"'* ]]; then
      say "   GET 127.0.0.1:$port/health -> 200 ${body%$'\n'*}" | cut -c1-220
      return 0
    fi
    sleep 0.5
  done
  say "   last answer of /health: ${body:-none}"
  return 1
}

check_healthcheck_command() {
  local role=$1
  runtime_env "$ENTRYPOINT" healthcheck "$role" >>"$LOGS/$role.healthcheck.log" 2>&1 ||
    fail_with_log "$role" "the image HEALTHCHECK command (entrypoint.sh healthcheck $role) failed: $(cat "$LOGS/$role.healthcheck.log")"
  say "   HEALTHCHECK (entrypoint.sh healthcheck $role) -> exit 0"
}

stop_and_time() {
  local role=$1 pid=${PIDS[$1]} start=$SECONDS status=0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    NOTES+=("$role did not exit within ${STOP_TIMEOUT}s of SIGTERM (an orchestrator would SIGKILL it)")
    say "   SIGTERM: still running after ${STOP_TIMEOUT}s"
    stop_role "$role"
    return
  fi
  wait "$pid" || status=$?
  unset "PIDS[$role]"
  kill -KILL -- "-$pid" 2>/dev/null || true
  say "   SIGTERM: exited with status $status after $((SECONDS - start))s"
  ((status == 0 || status == 143)) || NOTES+=("$role exited with status $status on SIGTERM")
}

run_migrate() {
  step "migrate (database $DB_NAME, $DB_MODE)"
  local status=0
  runtime_env "$ENTRYPOINT" migrate </dev/null >"$LOGS/migrate.log" 2>&1 || status=$?
  DB_CREATED=1
  sed 's/^/   | /' "$LOGS/migrate.log" | tail -n 15
  ((status == 0)) || fail_with_log migrate "exited with status $status"
  local applied
  applied=$(psql "$(database_url '')" -v ON_ERROR_STOP=1 -qAtX -c 'SELECT count(*) FROM schema_migrations' 2>/dev/null) ||
    fail "migrate: no schema_migrations table in $DB_NAME after the migrate step"
  ((applied > 0)) || fail "migrate: no migration was applied (were the compiled migrations left out of dist/?)"
  say "   $applied migration(s) recorded in $DB_NAME.schema_migrations"

  # deployment/OPERATIONS.md reverts a migration with the TypeORM CLI from the image.
  local cli=(node node_modules/typeorm/cli.js migration:show -d dist/libs/database/src/typeorm.data-source.js)
  runtime_env "$ENTRYPOINT" "${cli[@]}" </dev/null >"$LOGS/typeorm-cli.log" 2>&1 ||
    fail_with_log typeorm-cli "the TypeORM CLI does not run from the image: ${cli[*]}"
  grep -q '\[X\]' "$LOGS/typeorm-cli.log" || fail_with_log typeorm-cli "migration:show lists no applied migration"
  say "   TypeORM CLI (migration:show) runs from the image: $(grep -c '\[X\]' "$LOGS/typeorm-cli.log") applied"

  # Operator commands (apps/cli) run from the image through the entrypoint's pass-through.
  local mint=dist/apps/cli/src/mint-token.js
  if [[ -f $RUNTIME_APP/$mint ]]; then
    runtime_env "$ENTRYPOINT" node "$mint" --tenant imagecheck </dev/null >"$LOGS/cli.log" 2>&1 ||
      fail_with_log cli "node $mint failed"
    grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$LOGS/cli.log" || fail_with_log cli "node $mint printed no token"
    say "   operator CLI (apps/cli mint-token) runs from the image"
  fi
}

run_api() {
  step "api (port $API_PORT)"
  start_role api
  local status=0
  wait_healthy api "$API_PORT" || status=$?
  ((status == 0)) || fail_with_log api "$([[ $status == 3 ]] && echo 'exited before /health answered' || echo "/health did not answer 200 healthy within ${START_TIMEOUT}s")"
  check_healthcheck_command api
}

run_background_role() {
  local role=$1 port=$2 status=0
  step "$role (health port $port)"
  start_role "$role"
  wait_healthy "$role" "$port" || status=$?
  if ((status == 3)); then
    local code=0
    wait "${PIDS[$role]}" || code=$?
    unset "PIDS[$role]"
    if missing_module_in "$LOGS/$role.log" >/dev/null; then
      fail_with_log "$role" "exited with status $code"
    fi
    if [[ $role == worker ]] && grep -q 'has no processor' "$LOGS/$role.log"; then
      # main.ts checks the job handlers after every static import resolved, so reaching this
      # refusal still proves the worker's modules are all in the image.
      say "   the worker REFUSED TO START by its own fail-fast check (exit $code), not for a missing module:"
      sed 's/^/   | /' "$LOGS/$role.log" | tail -n 5
      NOTES+=("worker refused to start (exit $code): $(grep -m1 'has no processor' "$LOGS/$role.log" | cut -c1-200)")
      return 0
    fi
    fail_with_log "$role" "exited with status $code before its health port answered"
  fi
  ((status == 0)) || fail_with_log "$role" "health port $port did not answer 200 healthy within ${START_TIMEOUT}s"
  check_healthcheck_command "$role"
}

# ---------------------------------------------------------------------------------------------

main() {
  local total_start=$SECONDS
  say "check-runtime-image: replaying $DOCKERFILE without Docker in $WORK"
  local tool
  for tool in psql redis-cli curl node npm git; do
    command -v "$tool" >/dev/null || fail "$tool is needed"
  done
  psql_admin -c 'SELECT 1' >/dev/null || fail "PostgreSQL is not reachable at $ADMIN_URL"
  [[ $(redis-cli -u "$REDIS_URL" PING 2>/dev/null) == PONG ]] || fail "Redis is not reachable at $REDIS_URL"

  # Node resolves bare imports by walking up from the importing file: a node_modules folder in
  # an ancestor of the temp folder would hide a module missing from the runtime tree.
  local dir=$WORK
  while [[ $dir != / ]]; do
    dir=$(dirname "$dir")
    [[ ! -e $dir/node_modules ]] || fail "$dir/node_modules exists and would mask missing modules; remove it or set TMPDIR elsewhere"
  done

  step "build context"
  timed "build context" copy_context

  step "Dockerfile stages"
  cd "$CONTEXT"
  replay_dockerfile
  local image_node=${ARG_DEFAULTS[NODE_VERSION]:-?} local_node
  local_node=$(node -p 'process.versions.node')
  [[ $image_node == "$local_node" ]] ||
    NOTES+=("the image uses Node $image_node, this machine runs Node $local_node")

  RUNTIME_APP=${STAGE_ROOT[runtime]}/app
  ENTRYPOINT=$RUNTIME_APP/docker/entrypoint.sh
  [[ -x $ENTRYPOINT ]] || fail "the runtime stage has no executable /app/docker/entrypoint.sh"
  for dev_only in jest ts-jest eslint @nestjs/cli @nestjs/testing; do
    [[ ! -e $RUNTIME_APP/node_modules/$dev_only ]] || fail "devDependency $dev_only is still in the runtime tree: npm prune --omit=dev did not run"
  done
  say "   runtime tree: $(du -sh "$RUNTIME_APP" | cut -f1) (node_modules $(du -sh "$RUNTIME_APP/node_modules" | cut -f1)), no devDependencies"
  mkdir -p "$WORK/home" "$WORK/tmp"

  # Once the migrate step provisions the app role itself, it takes the owner connection from
  # DATABASE_MIGRATION_URL and the role to create from DATABASE_URL, as in compose and k8s.
  local admin_db_url app_db_url
  admin_db_url=$(database_url '')
  if grep -rqs DATABASE_MIGRATION_URL "$RUNTIME_APP/dist/libs"; then
    DB_MODE="DATABASE_MIGRATION_URL as owner, DATABASE_URL as role $APP_ROLE"
    app_db_url=$(database_url "$APP_ROLE")
  else
    DB_MODE="one DATABASE_URL: this build's migrate step does not read DATABASE_MIGRATION_URL yet"
    app_db_url=$admin_db_url
  fi
  API_PORT=$(free_port)
  local worker_port scheduler_port
  worker_port=$(free_port)
  scheduler_port=$(free_port)
  APP_ENV=(
    NODE_ENV=production
    DATABASE_URL="$app_db_url"
    DATABASE_MIGRATION_URL="$admin_db_url"
    REDIS_URL="$REDIS_URL"
    REDIS_KEY_PREFIX="$KEY_PREFIX"
    JWT_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
    ENCRYPTION_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
    HOST=127.0.0.1
    PORT="$API_PORT"
    API_WORKERS=2
    WORKER_HEALTH_PORT="$worker_port"
    SCHEDULER_HEALTH_PORT="$scheduler_port"
    LOG_DIR="$WORK/app-logs"
  )

  timed "migrate" run_migrate
  timed "api start + health" run_api
  timed "worker start + health" run_background_role worker "$worker_port"
  timed "scheduler start + health" run_background_role scheduler "$scheduler_port"
  [[ -s $WORK/app-logs/service.log ]] && say "   LOG_DIR files written: $(cd "$WORK/app-logs" && echo *)"

  step "graceful shutdown"
  for role in scheduler worker api; do
    [[ -n ${PIDS[$role]:-} ]] || continue
    say " $role:"
    stop_and_time "$role"
  done
  for role in api worker scheduler migrate; do
    if missing_module_in "$LOGS/$role.log" >/dev/null 2>&1; then fail_with_log "$role" "reported a missing module"; fi
  done

  FAILED=0
  step "summary"
  printf '   %s\n' "${TIMINGS[@]}"
  printf '   %-34s %4ds\n' total $((SECONDS - total_start))
  local note
  for note in "${NOTES[@]}"; do say "   note: $note"; done
  say "check-runtime-image: OK"
}

main "$@"
