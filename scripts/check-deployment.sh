#!/usr/bin/env bash
# Checks the deployment files on a machine without a container engine:
#
#   compose          docker-compose config -q on docker-compose.yml, then with
#                    deployment/docker-compose.scale.yml (a copy of .env.example serves as .env;
#                    any warning, such as an unset variable, fails too)
#   nginx syntax     nginx -t on deployment/nginx/nginx.conf as it is, with `api` mapped to
#                    127.0.0.1 in a private /etc/hosts (unshare) so the upstream resolves
#   nginx behaviour  the same file serving real requests in private namespaces, in front of a
#                    stand-in upstream: X-Request-ID passthrough and generation, X-Forwarded-For
#                    replaced, upstream keepalive, event streams delivered as written
#   kubernetes       every object in deployment/k8s/*.yaml against the Kubernetes 1.27 OpenAPI
#                    schemas (npm kubernetes-models) plus a strict pass that rejects unknown fields
#                    (the package's TypeScript types, excess-property checks)
#   mail images      docker/dovecot and docker/postfix configs and entrypoints, run as their
#                    images run them (Dovecot as uid 5000, same Debian 12 packages) in private
#                    namespaces: IMAP capabilities, IMAPS, POP3(S), submission with SASL through
#                    Dovecot, LMTP delivery, relay refusal, the sink, both healthchecks
#   shell            shellcheck on the entrypoints and these scripts
#
# Tools that are missing are installed when possible (apt-get: nginx-light, dovecot, postfix;
# npm into a cache folder: kubernetes-models, yaml); a check whose tools cannot be had is
# reported as SKIPPED. Exit status: 1 if any check failed, or if any was skipped while
# CHECK_DEPLOYMENT_REQUIRE_ALL=1; 0 otherwise.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQUIRE_ALL=${CHECK_DEPLOYMENT_REQUIRE_ALL:-0}
CACHE_DIR=${CHECK_DEPLOYMENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mail-service-deployment-check}
# Pinned: 4.5.1 is the newest release that runs on Node 20 (5.x needs Node 22).
K8S_VALIDATOR_PACKAGES=(kubernetes-models@4.5.1 yaml@2.9.1)
WORK=$(mktemp -d /tmp/check-deployment.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

declare -a RESULTS=()
FAILED=0
SKIPPED=0

say() { printf '%s\n' "$*"; }
detail() { printf '   %s\n' "$*"; }

# run_check NAME FUNCTION: the function returns 0 (pass), 1 (fail) or 2 (skipped).
run_check() {
  local name=$1 start=$SECONDS status=0
  shift
  printf '\n== %s\n' "$name"
  "$@" || status=$?
  local took=$((SECONDS - start))
  case $status in
  0) RESULTS+=("$(printf 'PASS     %-22s %3ds' "$name" "$took")") ;;
  2)
    RESULTS+=("$(printf 'SKIPPED  %-22s %3ds' "$name" "$took")")
    SKIPPED=$((SKIPPED + 1))
    ;;
  *)
    RESULTS+=("$(printf 'FAIL     %-22s %3ds' "$name" "$took")")
    FAILED=$((FAILED + 1))
    ;;
  esac
}

is_root() { [[ $(id -u) == 0 ]]; }

# unshare works as root where the kernel and the sandbox allow new namespaces.
can_unshare() {
  is_root && unshare --mount --net --pid --fork --mount-proc true 2>/dev/null
}

apt_install() {
  is_root && command -v apt-get >/dev/null || return 1
  local log=$WORK/apt.log policy=/usr/sbin/policy-rc.d created=0
  # Keep package scripts from starting system-wide daemons (ports 25, 80, 143...).
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=1
  fi
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections 2>/dev/null || true
  local status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@" </dev/null >>"$log" 2>&1 ||
    {
      apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null >>"$log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@" </dev/null >>"$log" 2>&1
    } || status=$?
  ((created)) && rm -f "$policy"
  ((status == 0)) || tail -n 5 "$log" | sed 's/^/   apt: /'
  return "$status"
}

# ---------------------------------------------------------------------------------------------
# compose

compose_project() {
  local dir=$WORK/compose
  mkdir -p "$dir"
  cp "$ROOT/docker-compose.yml" "$dir/"
  cp -r "$ROOT/deployment" "$ROOT/docker" "$dir/"
  # env_file: .env must exist; the example is what a first `docker-compose up` would use.
  cp "$ROOT/.env.example" "$dir/.env"
  printf '%s' "$dir"
}

compose_config() {
  local dir=$1
  shift
  command -v docker-compose >/dev/null || {
    detail "docker-compose is not installed (Debian: apt-get install docker-compose)"
    return 2
  }
  local args=() file
  for file in "$@"; do args+=(-f "$file"); done
  detail "docker-compose ${args[*]} config -q   ($(docker-compose version --short 2>/dev/null))"
  if ! (cd "$dir" && docker-compose "${args[@]}" config -q) >"$WORK/compose.out" 2>&1; then
    sed 's/^/   | /' "$WORK/compose.out"
    return 1
  fi
  if grep -qi 'warn' "$WORK/compose.out"; then
    sed 's/^/   | /' "$WORK/compose.out"
    detail "warnings count as failures"
    return 1
  fi
  detail "valid; services: $(cd "$dir" && docker-compose "${args[@]}" config --services 2>/dev/null | sort | tr '\n' ' ')"
}

check_compose_base() {
  compose_config "$(compose_project)" docker-compose.yml
}

check_compose_scale() {
  compose_config "$WORK/compose" docker-compose.yml deployment/docker-compose.scale.yml
}

# ---------------------------------------------------------------------------------------------
# nginx

ensure_nginx() {
  command -v nginx >/dev/null && return 0
  detail "nginx is not installed; trying apt-get install nginx-light"
  apt_install nginx-light || apt_install nginx || return 1
  command -v nginx >/dev/null
}

NGINX_CONF=$ROOT/deployment/nginx/nginx.conf

# In a private mount namespace: maps `api` to 127.0.0.1 and gives nginx an empty /tmp for the
# temp folders its config names. $WORK and the config's folder may themselves be under /tmp, so
# both are bind-mounted to /mnt first and the variables repointed: nginx still reads the real file.
private_tmp() {
  mount --make-rprivate /
  mount --bind "$WORK/hosts.nginx" /etc/hosts
  mount -t tmpfs tmpfs /mnt
  mkdir /mnt/work /mnt/conf
  mount --bind "$WORK" /mnt/work
  mount --bind "$(dirname "$NGINX_CONF")" /mnt/conf
  WORK=/mnt/work
  NGINX_CONF=/mnt/conf/$(basename "$NGINX_CONF")
  mount -t tmpfs tmpfs /tmp
}

check_nginx_syntax() {
  ensure_nginx || {
    detail "nginx could not be installed"
    return 2
  }
  detail "$(nginx -v 2>&1)"
  printf '127.0.0.1 localhost\n127.0.0.1 api\n' >"$WORK/hosts.nginx"
  if can_unshare; then
    detail "nginx -t -c deployment/nginx/nginx.conf (unchanged; 'api' -> 127.0.0.1 in a private /etc/hosts)"
    export WORK NGINX_CONF
    export -f private_tmp
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare --mount --fork bash -c 'set -e; private_tmp; nginx -t -c "$NGINX_CONF"' >"$WORK/nginx.out" 2>&1
  else
    # Without namespaces the upstream name cannot resolve and /tmp is shared: test a copy that
    # differs only in the upstream address and the folder of the pid file and temp folders.
    detail "no namespaces here: nginx -t on a copy with 'server api:5000' -> 'server 127.0.0.1:5000' and /tmp/ -> $WORK/nginx-tmp/"
    mkdir -p "$WORK/nginx-tmp"
    sed -e 's/server api:5000/server 127.0.0.1:5000/' -e "s#/tmp/#$WORK/nginx-tmp/#g" "$NGINX_CONF" >"$WORK/nginx.conf"
    nginx -t -c "$WORK/nginx.conf" >"$WORK/nginx.out" 2>&1
  fi
  local status=$?
  sed 's/^/   | /' "$WORK/nginx.out"
  return "$status"
}

# A stand-in for the API replicas: answers with what it received (headers, client port), and
# streams two events a second apart on an events path.
# shellcheck disable=SC2089 # program text for node -e, never word-split
UPSTREAM_JS='
const http = require("node:http");
http.createServer((req, res) => {
  if (req.url.endsWith("/events")) {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write("data: first\n\n");
    setTimeout(() => res.end("data: second\n\n"), 1500);
    return;
  }
  const body = JSON.stringify({ headers: req.headers, remotePort: req.socket.remotePort });
  res.writeHead(200, { "content-type": "application/json", "x-request-id": req.headers["x-request-id"] ?? "" }).end(body);
}).listen(5000, "127.0.0.1");
'

# Runs inside private mount, network and pid namespaces (everything started there dies with it).
nginx_behaviour_inner() {
  set -euo pipefail
  mount --make-rprivate /
  ip link set lo up
  private_tmp
  node -e "$UPSTREAM_JS" >"$WORK/upstream.log" 2>&1 &
  nginx -c "$NGINX_CONF" -g 'daemon off;' >"$WORK/nginx-run.log" 2>&1 &
  local i
  for i in $(seq 1 50); do
    curl -sf -o /dev/null http://127.0.0.1:5000/ && curl -sf -o /dev/null http://127.0.0.1:8080/health && break
    ((i < 50)) || { echo "the stand-in upstream or nginx did not come up"; return 1; }
    sleep 0.1
  done
  local body id
  body=$(curl -sS -D "$WORK/h1" -H 'X-Request-ID: client-id.42' http://127.0.0.1:8080/api/x)
  [[ $body == *'"x-request-id":"client-id.42"'* ]] || { echo "client X-Request-ID not passed upstream: $body"; return 1; }
  grep -qi '^x-request-id: client-id.42' "$WORK/h1" || { echo "response lacks the client X-Request-ID"; return 1; }
  [[ $(grep -ci '^x-request-id:' "$WORK/h1") == 1 ]] || { echo "response has more than one X-Request-ID"; return 1; }
  echo "ok: a valid client X-Request-ID reaches the API and comes back once"

  body=$(curl -sS -D "$WORK/h2" http://127.0.0.1:8080/api/x)
  id=$(printf '%s' "$body" | sed -n 's/.*"x-request-id":"\([0-9a-f]\{32\}\)".*/\1/p')
  [[ -n $id ]] || { echo "no generated X-Request-ID upstream: $body"; return 1; }
  grep -qi "^x-request-id: $id" "$WORK/h2" || { echo "generated X-Request-ID not returned"; return 1; }
  body=$(curl -sS -H 'X-Request-ID: bad id <script>' http://127.0.0.1:8080/api/x)
  [[ $body =~ \"x-request-id\":\"[0-9a-f]{32}\" ]] || { echo "a malformed X-Request-ID was passed on: $body"; return 1; }
  echo "ok: a missing or malformed X-Request-ID is replaced by nginx's \$request_id"

  body=$(curl -sS -H 'X-Forwarded-For: 203.0.113.9' http://127.0.0.1:8080/api/x)
  [[ $body == *'"x-forwarded-for":"127.0.0.1"'* ]] || { echo "X-Forwarded-For not replaced by the client address: $body"; return 1; }
  echo "ok: X-Forwarded-For carries the client address, a client-sent value is dropped"

  local ports=()
  for i in 1 2 3 4 5; do
    ports+=("$(curl -sS http://127.0.0.1:8080/api/x | sed -n 's/.*"remotePort":\([0-9]*\).*/\1/p')")
  done
  local distinct
  distinct=$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)
  ((distinct < 5)) || { echo "5 requests used 5 upstream connections: no keepalive"; return 1; }
  echo "ok: upstream keepalive (5 requests over $distinct connection(s))"

  # Time until the first event's line reaches the client (headers alone arrive early either way).
  local started elapsed line
  started=$(date +%s%N)
  IFS= read -r line < <(curl -sS -N http://127.0.0.1:8080/api/sync/events)
  elapsed=$((($(date +%s%N) - started) / 1000000))
  [[ $line == "data: first" ]] || { echo "unexpected first line from the event stream: $line"; return 1; }
  ((elapsed < 1000)) || { echo "the first event took ${elapsed} ms: the stream is buffered"; return 1; }
  echo "ok: an event stream reaches the client as it is written (first event after ${elapsed} ms, the second 1500 ms later)"
}

check_nginx_behaviour() {
  command -v nginx >/dev/null || {
    detail "nginx is not installed"
    return 2
  }
  can_unshare || {
    detail "needs root and namespaces (unshare) to run nginx on the ports its config names"
    return 2
  }
  printf '127.0.0.1 localhost\n127.0.0.1 api\n' >"$WORK/hosts.nginx"
  # shellcheck disable=SC2090 # exported as is for the inner shell
  export WORK NGINX_CONF UPSTREAM_JS
  export -f nginx_behaviour_inner private_tmp
  unshare --mount --net --pid --fork --mount-proc bash -c nginx_behaviour_inner >"$WORK/nginx-behaviour.out" 2>&1
  local status=$?
  sed 's/^/   /' "$WORK/nginx-behaviour.out"
  if ((status != 0)); then
    tail -n 10 "$WORK/nginx-run.log" 2>/dev/null | sed 's/^/   nginx: /'
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# kubernetes

ensure_k8s_validator() {
  local dir=$CACHE_DIR/k8s
  local stamp="$dir/.installed-${K8S_VALIDATOR_PACKAGES[*]// /_}"
  [[ -f $stamp ]] && return 0
  command -v npm >/dev/null || return 1
  detail "installing ${K8S_VALIDATOR_PACKAGES[*]} into $dir"
  mkdir -p "$dir"
  [[ -f $dir/package.json ]] || printf '{ "name": "k8s-validator", "private": true }\n' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-save --silent "${K8S_VALIDATOR_PACKAGES[@]}") >"$WORK/npm.log" 2>&1 || {
    tail -n 5 "$WORK/npm.log" | sed 's/^/   npm: /'
    return 1
  }
  rm -f "$dir"/.installed-*
  touch "$stamp"
}

# Parses every manifest, validates each object against its schema, and writes one TypeScript
# file per object typed with the model's interface for the strict pass.
# shellcheck disable=SC2016 # JavaScript template literals
K8S_VALIDATE_JS='
const fs = require("node:fs");
const path = require("node:path");
const { parseAllDocuments } = require("yaml");
const [, manifestDir, tsDir] = process.argv;
let failures = 0;
let count = 0;
const imports = [];
const checks = [];
for (const file of fs.readdirSync(manifestDir).filter((f) => f.endsWith(".yaml")).sort()) {
  const text = fs.readFileSync(path.join(manifestDir, file), "utf8");
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) { console.log(`FAIL ${file}: ${doc.errors[0].message}`); failures++; continue; }
    const object = doc.toJS();
    if (object === null) continue;
    const { apiVersion, kind } = object;
    const name = `${file} ${kind}/${object.metadata?.name}`;
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
    const modulePath = `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
    let Model;
    try { Model = require(modulePath)[kind]; } catch { Model = undefined; }
    if (!Model) { console.log(`FAIL ${name}: no schema for ${apiVersion} ${kind}`); failures++; continue; }
    try {
      new Model(object).validate();
      console.log(`ok   ${name} (${apiVersion})`);
    } catch (error) {
      console.log(`FAIL ${name}: ${error.message}`);
      failures++;
    }
    count++;
    const alias = `I${count}`;
    imports.push(`import type { I${kind} as ${alias} } from "${modulePath}";`);
    checks.push(`// ${name}\nexport const object${count}: ${alias} = ${JSON.stringify(object, null, 2)};`);
  }
}
fs.writeFileSync(path.join(tsDir, "manifests.ts"), `${imports.join("\n")}\n\n${checks.join("\n\n")}\n`);
console.log(`${count} object(s), ${failures} schema failure(s)`);
process.exit(failures ? 1 : 0);
'

check_k8s() {
  command -v node >/dev/null || {
    detail "node is not installed"
    return 2
  }
  ensure_k8s_validator || {
    detail "could not install ${K8S_VALIDATOR_PACKAGES[*]} from the npm registry"
    return 2
  }
  local ts_dir=$WORK/k8s-ts status=0
  mkdir -p "$ts_dir"
  NODE_PATH=$CACHE_DIR/k8s/node_modules node -e "$K8S_VALIDATE_JS" "$ROOT/deployment/k8s" "$ts_dir" >"$WORK/k8s.out" 2>&1 || status=1
  sed 's/^/   /' "$WORK/k8s.out"

  # Strict pass: the schemas allow unknown fields (as the API server's non-strict decoding does),
  # so a misspelt `readinessProbe` would pass above. TypeScript's excess-property check on each
  # object literal typed with the model's interface catches it.
  local tsc=$ROOT/node_modules/.bin/tsc
  if [[ ! -x $tsc ]]; then
    detail "strict pass skipped: $tsc is missing (run npm ci)"
    return $((status == 0 ? 2 : 1))
  fi
  ln -s "$CACHE_DIR/k8s/node_modules" "$ts_dir/node_modules"
  cat >"$ts_dir/tsconfig.json" <<'EOF'
{ "compilerOptions": { "strict": true, "noEmit": true, "module": "nodenext", "moduleResolution": "nodenext", "target": "ES2022", "skipLibCheck": true, "types": [] }, "files": ["manifests.ts"] }
EOF
  if (cd "$ts_dir" && "$tsc" -p tsconfig.json) >"$WORK/k8s-tsc.out" 2>&1; then
    detail "strict pass: no unknown or mistyped fields"
  else
    # Each error names the object it is in: the nearest "// FILE KIND/NAME" line above it.
    awk -v out="$WORK/k8s-tsc.out" '
      { owner[NR] = ($0 ~ /^\/\/ /) ? substr($0, 4) : owner[NR - 1] }
      END {
        while ((getline line < out) > 0) {
          if (match(line, /^manifests\.ts\(([0-9]+),[0-9]+\): /)) {
            n = substr(line, 14, RLENGTH - 17) + 0
            sub(/^manifests\.ts\([0-9]+,[0-9]+\): error TS[0-9]+: /, "", line)
            print "   FAIL " owner[n] ": " line
          }
        }
      }' "$ts_dir/manifests.ts" | head -n 20
    status=1
  fi
  return "$status"
}

# ---------------------------------------------------------------------------------------------
# mail images

# shellcheck disable=SC2089 # program text for python3 -c, never word-split
MAIL_PROBE_PY='
import imaplib, poplib, smtplib, ssl, time
from email.message import EmailMessage

tls = ssl.create_default_context()
tls.check_hostname = False
tls.verify_mode = ssl.CERT_NONE
USER, PASSWORD = "alice@example.test", "alice-secret"

def ok(text):
    print(f"ok: {text}")

imap = imaplib.IMAP4("127.0.0.1", 143)
imap.starttls(ssl_context=tls)
imap.login(USER, PASSWORD)
capabilities = set(imap.capability()[1][0].decode().split())
missing = {"IDLE", "CONDSTORE", "QRESYNC"} - capabilities
assert not missing, f"IMAP does not advertise {missing}"
folders = b" ".join(imap.list()[1]).decode()
for role in ("\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"):
    assert role in folders, f"no {role} folder: {folders}"
imap.logout()
ok("IMAP 143: STARTTLS, login, IDLE CONDSTORE QRESYNC advertised, special-use folders created")
imaps = imaplib.IMAP4_SSL("127.0.0.1", 993, ssl_context=tls)
imaps.login(USER, PASSWORD)
imaps.logout()
pop = poplib.POP3("127.0.0.1", 110)
pop.user(USER)
pop.pass_(PASSWORD)
pop.quit()
pops = poplib.POP3_SSL("127.0.0.1", 995, context=tls)
pops.user(USER)
pops.pass_(PASSWORD)
pops.quit()
ok("IMAPS 993, POP3 110 and POP3S 995 logins")

def message(to, subject):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = USER, to, subject
    msg.set_content("hello")
    return msg

submission = smtplib.SMTP("127.0.0.1", 587, timeout=10)
submission.ehlo()
try:
    submission.send_message(message(USER, "no auth"))
    raise SystemExit("submission accepted mail without AUTH")
except smtplib.SMTPRecipientsRefused:
    pass
submission.starttls(context=tls)
submission.ehlo()
submission.login(USER, PASSWORD)
submission.send_message(message(USER, "via submission"))
submission.send_message(message("someone@elsewhere.test", "for the sink"))
submission.quit()
ok("submission 587: refuses mail without AUTH; STARTTLS and AUTH through Dovecot SASL")
mx = smtplib.SMTP("127.0.0.1", 25, timeout=10)
mx.ehlo()
try:
    mx.send_message(message("someone@elsewhere.test", "relay attempt"))
    raise SystemExit("port 25 relays to other domains")
except smtplib.SMTPRecipientsRefused:
    pass
mx.send_message(message(USER, "via port 25"))
mx.quit()
ok("SMTP 25: accepts mail for example.test, refuses to relay")

def wait_for(user, password, count):
    deadline = time.time() + 20
    while True:
        client = imaplib.IMAP4("127.0.0.1", 143)
        client.login(user, password)
        client.select("INBOX")
        subjects = []
        for number in client.search(None, "ALL")[1][0].split():
            subjects.append(client.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].decode().strip())
        client.logout()
        if len(subjects) >= count:
            return subjects
        if time.time() > deadline:
            raise SystemExit(f"{user}: {subjects} after 20 s, expected {count} message(s)")
        time.sleep(0.2)

subjects = wait_for(USER, PASSWORD, 2)
ok(f"LMTP delivery to Dovecot: {USER} received {subjects}")
subjects = wait_for("sink@example.test", "sink", 1)
assert "Subject: for the sink" in subjects, subjects
ok("mail for other domains lands in sink@example.test")
'

# Runs inside private mount, network and pid namespaces, with the image paths bind-mounted from
# $WORK so nothing on this machine changes.
mail_images_inner() {
  set -euo pipefail
  local m=$WORK/mail
  mount --make-rprivate /
  ip link set lo up
  # As docker-compose.yml sets for the Dovecot container.
  sysctl -qw net.ipv4.ip_unprivileged_port_start=0
  mount -t tmpfs tmpfs /run
  mkdir -p /run/dovecot /run/dovecot-auth
  chown 5000:5000 /run/dovecot /run/dovecot-auth
  chmod 700 /run/dovecot-auth
  mount --bind "$m/etc-dovecot" /etc/dovecot
  mount --bind "$m/etc-postfix" /etc/postfix
  mount --bind "$m/vmail" /var/mail
  mount --bind "$m/spool" /var/spool/postfix
  mount --bind "$m/postfix-lib" /var/lib/postfix
  mount --bind "$m/passwd" /etc/passwd
  mount --bind "$m/group" /etc/group
  mount --bind "$m/hosts" /etc/hosts
  local path=PATH=/usr/sbin:/usr/bin:/sbin:/bin
  setpriv --reuid 5000 --regid 5000 --clear-groups env -i "$path" MAIL_DOMAIN=example.test \
    MAIL_USERS="alice@example.test:alice-secret" \
    "$ROOT/docker/dovecot/entrypoint.sh" dovecot -F </dev/null >"$m/dovecot.log" 2>&1 &
  env -i "$path" MAIL_DOMAIN=example.test DOVECOT_HOST=dovecot \
    "$ROOT/docker/postfix/entrypoint.sh" postfix start-fg </dev/null >"$m/postfix.log" 2>&1 &
  local i port
  for port in 143 993 110 995 24 12345 25 587; do
    for i in $(seq 1 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      ((i < 100)) || { echo "port $port did not open"; return 1; }
      sleep 0.1
    done
  done
  echo "ok: Dovecot (uid 5000) listens on 143 993 110 995 24 12345, Postfix on 25 587"
  python3 -c "$MAIL_PROBE_PY"
  setpriv --reuid 5000 --regid 5000 --clear-groups env -i "$path" "$ROOT/docker/dovecot/entrypoint.sh" healthcheck
  env -i "$path" "$ROOT/docker/postfix/entrypoint.sh" healthcheck >/dev/null
  echo "ok: both images' HEALTHCHECK commands pass"
}

check_mail_images() {
  can_unshare || {
    detail "needs root and namespaces (unshare) to run the servers on their standard ports"
    return 2
  }
  command -v python3 >/dev/null || {
    detail "python3 is needed for the protocol probe"
    return 2
  }
  if ! [[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/lmtp && -x /usr/lib/dovecot/pop3 && -x /usr/sbin/postfix ]]; then
    detail "installing the images' Debian packages: dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix"
    apt_install dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix openssl || {
      detail "could not install Dovecot and Postfix"
      return 2
    }
  fi
  detail "$(dovecot --version | cut -d' ' -f1 | sed 's/^/Dovecot /'), Postfix $(postconf -dh mail_version) (the images install the same Debian 12 packages)"
  local m=$WORK/mail
  mkdir -p "$m"/{etc-dovecot,etc-postfix,vmail,spool,postfix-lib}
  cp "$ROOT/docker/dovecot/dovecot.conf" "$m/etc-dovecot/"
  # The package's own files (postfix-files, dynamicmaps.cf) plus the image's main.cf/master.cf.
  cp -a /etc/postfix/. "$m/etc-postfix/"
  rm -f "$m/etc-postfix/main.cf" "$m/etc-postfix/master.cf" "$m/etc-postfix/sink_aliases"
  cp "$ROOT/docker/postfix/main.cf" "$ROOT/docker/postfix/master.cf" "$m/etc-postfix/"
  chown 5000:5000 "$m/vmail"
  chown postfix:postfix "$m/postfix-lib"
  cp /etc/passwd "$m/passwd"
  cp /etc/group "$m/group"
  # The image creates vmail (uid/gid 5000); this machine may not have it.
  grep -q '^vmail:' "$m/passwd" || echo 'vmail:x:5000:5000::/var/mail:/usr/sbin/nologin' >>"$m/passwd"
  grep -q '^vmail:' "$m/group" || echo 'vmail:x:5000:' >>"$m/group"
  printf '127.0.0.1 localhost dovecot postfix\n' >"$m/hosts"

  # shellcheck disable=SC2090 # exported as is for the inner shell
  export WORK ROOT MAIL_PROBE_PY
  export -f mail_images_inner
  unshare --mount --net --pid --fork --mount-proc bash -c mail_images_inner >"$WORK/mail.out" 2>&1
  local status=$?
  sed 's/^/   /' "$WORK/mail.out"
  if ((status != 0)); then
    detail "--- dovecot ---"
    tail -n 15 "$m/dovecot.log" 2>/dev/null | sed 's/^/   | /'
    detail "--- postfix ---"
    tail -n 15 "$m/postfix.log" 2>/dev/null | sed 's/^/   | /'
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# shell

check_shell() {
  command -v shellcheck >/dev/null || {
    detail "shellcheck is not installed (Debian: apt-get install shellcheck)"
    return 2
  }
  local files=(docker/entrypoint.sh docker/dovecot/entrypoint.sh docker/postfix/entrypoint.sh
    scripts/check-deployment.sh scripts/check-runtime-image.sh)
  detail "shellcheck ${files[*]}"
  (cd "$ROOT" && shellcheck "${files[@]}") | sed 's/^/   | /'
  return "${PIPESTATUS[0]}"
}

# ---------------------------------------------------------------------------------------------

main() {
  local start=$SECONDS
  say "check-deployment: $ROOT"
  run_check "compose (base)" check_compose_base
  run_check "compose (+ scale)" check_compose_scale
  run_check "nginx syntax" check_nginx_syntax
  run_check "nginx behaviour" check_nginx_behaviour
  run_check "kubernetes" check_k8s
  run_check "mail images" check_mail_images
  run_check "shell" check_shell

  printf '\n== summary (%ds)\n' $((SECONDS - start))
  printf '   %s\n' "${RESULTS[@]}"
  if ((FAILED > 0)); then
    say "check-deployment: $FAILED check(s) FAILED"
    exit 1
  fi
  if ((SKIPPED > 0 && REQUIRE_ALL)); then
    say "check-deployment: $SKIPPED check(s) SKIPPED and CHECK_DEPLOYMENT_REQUIRE_ALL=1"
    exit 1
  fi
  if ((SKIPPED > 0)); then
    say "check-deployment: OK ($SKIPPED check(s) skipped)"
  else
    say "check-deployment: OK"
  fi
}

main "$@"
