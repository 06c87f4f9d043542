#!/usr/bin/env bash
# Private Dovecot + Postfix mail stack on 127.0.0.1 for integration tests and benchmarks.
#
#   mail-stack.sh start   STATE_DIR BASE_PORT [DOMAIN]
#   mail-stack.sh adduser STATE_DIR EMAIL PASSWORD [EMAIL PASSWORD...]
#   mail-stack.sh seed    STATE_DIR EMAIL FOLDER FILE...
#   mail-stack.sh stop    STATE_DIR
#   mail-stack.sh status  STATE_DIR
#
# Ports (relative to BASE_PORT), all on 127.0.0.1:
#   +0 IMAP (STARTTLS optional)   +1 IMAPS   +2 POP3   +3 LMTP   +4 Dovecot SASL auth
#   +5 IMAP without CONDSTORE/QRESYNC (second Dovecot, same mailboxes)
#   +6 SMTP submission (AUTH required, STARTTLS optional)
#   +7 SMTP "MX" (no AUTH, accepts mail for DOMAIN only)
#
# With OAUTH_INTROSPECTION_URL=http://127.0.0.1:PORT/PATH in the environment of start, Dovecot
# (and Postfix through its SASL) also takes OAuth2 bearer tokens (XOAUTH2, OAUTHBEARER) and
# checks each with that RFC 7662 introspection endpoint; no port is added.
#
# All state (configs, Maildirs, queue, logs, pid files, certificate, users) lives under
# STATE_DIR; nothing in /etc is changed. See README.md next to this file.
set -euo pipefail

readonly VMAIL_UID=5000
readonly VMAIL_GID=5000
readonly SINK_LOCALPART=sink
readonly SINK_PASSWORD=sink
readonly PORT_WAIT_SECONDS=${MAIL_STACK_WAIT_SECONDS:-20}
readonly STOP_WAIT_SECONDS=10
readonly DEBIAN_PACKAGES=(dovecot-imapd dovecot-lmtpd dovecot-pop3d postfix openssl)

die() {
  echo "mail-stack: $*" >&2
  exit 1
}

note() {
  echo "mail-stack: $*" >&2
}

usage() {
  sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------
# Paths

# Sets every path derived from STATE_DIR. Paths end up in Dovecot and Postfix configs
# (neither quotes reliably) and in stack.env (read without a shell), so restrict them.
init_paths() {
  [[ -n ${1:-} ]] || usage
  STATE=$(realpath -m -- "$1")
  [[ $STATE =~ ^/[A-Za-z0-9._/-]+$ ]] ||
    die "STATE_DIR must be made of [A-Za-z0-9._/-] only: $STATE"
  [[ $STATE != / ]] || die "STATE_DIR must not be /"
  CONF_A=$STATE/dovecot/a/dovecot.conf
  CONF_B=$STATE/dovecot/b/dovecot.conf
  PF_ETC=$STATE/postfix/etc
  PF_SPOOL=$STATE/postfix/spool
  PF_DATA=$STATE/postfix/data
  LOG_DIR=$STATE/logs
  TLS_DIR=$STATE/tls
  MAIL_ROOT=$STATE/mail
  USERS=$STATE/users
  ENV_FILE=$STATE/stack.env
  # Dovecot puts instance_name in every process title ("dovecot-NAME/imap"), which
  # identifies our processes even after their master was SIGKILLed.
  TAG=$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)
  INSTANCE_A=ms${TAG}a
  INSTANCE_B=ms${TAG}b
}

# Sets the port variables from BASE_PORT.
init_ports() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || die "BASE_PORT must be a number: ${1:-}"
  BASE_PORT=$1
  ((BASE_PORT >= 1024 && BASE_PORT + 7 <= 65535)) || die "BASE_PORT out of range: $BASE_PORT"
  IMAP_PORT=$BASE_PORT
  IMAPS_PORT=$((BASE_PORT + 1))
  POP3_PORT=$((BASE_PORT + 2))
  LMTP_PORT=$((BASE_PORT + 3))
  AUTH_PORT=$((BASE_PORT + 4))
  IMAP_NO_CONDSTORE_PORT=$((BASE_PORT + 5))
  SMTP_PORT=$((BASE_PORT + 6))
  SMTP_MX_PORT=$((BASE_PORT + 7))
  ALL_PORTS=("$IMAP_PORT" "$IMAPS_PORT" "$POP3_PORT" "$LMTP_PORT" "$AUTH_PORT"
    "$IMAP_NO_CONDSTORE_PORT" "$SMTP_PORT" "$SMTP_MX_PORT")
}

# Unix socket paths are limited to 108 bytes (sun_path). Dovecot's sockets live in its
# base_dir, which must really be short (Dovecot resolves symlinks); Postfix connects to
# QUEUE/public/postlog by absolute path but does not resolve symlinks, so a short symlink
# to the queue under STATE_DIR is enough.
choose_short_paths() {
  if ((${#STATE} <= 60)); then
    SHORT_DIR=
    BASE_DIR_A=$STATE/run/a
    BASE_DIR_B=$STATE/run/b
    PF_QUEUE=$PF_SPOOL
  else
    SHORT_DIR=/tmp/ms$BASE_PORT
    BASE_DIR_A=$SHORT_DIR/a
    BASE_DIR_B=$SHORT_DIR/b
    PF_QUEUE=$SHORT_DIR/pf
  fi
}

# Reads one KEY from stack.env.
env_value() {
  [[ -f $ENV_FILE ]] || return 1
  sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1
}

# ---------------------------------------------------------------------------------------
# Packages

ensure_packages() {
  local bin missing=0
  for bin in /usr/sbin/dovecot /usr/bin/doveadm /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 \
    /usr/lib/dovecot/lmtp /usr/sbin/postfix /usr/bin/openssl; do
    [[ -x $bin ]] || missing=1
  done
  ((missing)) || return 0
  ((EUID == 0)) || die "Dovecot/Postfix are missing; install as root: apt-get install ${DEBIAN_PACKAGES[*]}"
  command -v apt-get >/dev/null || die "Dovecot/Postfix are missing and apt-get is not available"

  note "installing ${DEBIAN_PACKAGES[*]} (log: /tmp/mail-stack-apt.log)"
  # Without a policy-rc.d the package scripts would start the system-wide Dovecot and
  # Postfix on ports 25/143/993; "No configuration" keeps Postfix's init script inert too.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections 2>/dev/null || true
  local apt_opts=(-y -q -o DPkg::Lock::Timeout=300)
  local status=0
  # Another apt may hold the lock (Lock::Timeout waits for it); update only if needed.
  DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${DEBIAN_PACKAGES[@]}" \
    </dev/null >>/tmp/mail-stack-apt.log 2>&1 ||
    {
      apt-get update -q -o DPkg::Lock::Timeout=300 </dev/null >>/tmp/mail-stack-apt.log 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${DEBIAN_PACKAGES[@]}" \
          </dev/null >>/tmp/mail-stack-apt.log 2>&1
    } || status=$?
  ((created_policy)) && rm -f "$policy"
  ((status == 0)) || {
    tail -n 20 /tmp/mail-stack-apt.log >&2
    die "apt-get install failed"
  }
}

# ---------------------------------------------------------------------------------------
# Processes

# Reads /proc/PID/FILE (NUL-separated) into the global PROC_TEXT, words joined by spaces.
# Builtins only: this runs for every process on the machine, several times per stop.
read_proc() {
  local -a words
  mapfile -d '' words 2>/dev/null <"/proc/$1/$2" || return 1
  PROC_TEXT=" ${words[*]} "
}

# Prints "PID ROLE" for every process of this STATE_DIR's stack, found by identity rather
# than pid files (stale after a SIGKILL): Dovecot masters by their "-c CONFIG" argument,
# Dovecot children by the instance name in their title, Postfix processes by MAIL_CONFIG
# in their environment (Postfix hands it to every child via import_environment).
# ROLE is dovecot-a, dovecot-b or postfix, with "-master" appended for masters.
stack_procs() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [[ $pid != "$$" && $pid != "$BASHPID" ]] || continue
    read_proc "$pid" cmdline || continue
    case $PROC_TEXT in
    *" -c $CONF_A "*) echo "$pid dovecot-a-master" ;;
    *" -c $CONF_B "*) echo "$pid dovecot-b-master" ;;
    " dovecot-$INSTANCE_A/"* | " $INSTANCE_A/"*) echo "$pid dovecot-a" ;;
    " dovecot-$INSTANCE_B/"* | " $INSTANCE_B/"*) echo "$pid dovecot-b" ;;
    *" -t unix"* | *" -t inet"* | *" -t fifo"* | *" -t pass"* | *"/postfix/sbin/master "* | \
      *" postfix-script "* | *"/postfix "*)
      read_proc "$pid" environ || continue
      [[ $PROC_TEXT == *" MAIL_CONFIG=$PF_ETC "* ]] || continue
      read_proc "$pid" cmdline || continue
      if [[ $PROC_TEXT == *"/postfix/sbin/master "* ]]; then
        echo "$pid postfix-master"
      else
        echo "$pid postfix"
      fi
      ;;
    esac
  done
}

stack_pids() {
  stack_procs | cut -d' ' -f1
}

# Prints the PID of the master of one component (dovecot-a, dovecot-b, postfix).
master_pid() {
  # awk reads everything: quitting early would SIGPIPE stack_procs and fail (pipefail).
  stack_procs | awk -v role="$1-master" '$2 == role && !found { print $1; found = 1 } END { exit !found }'
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs a daemon so that it keeps none of our file descriptors: a caller reading our
# stdout/stderr through a pipe (| tail, Node's execFile) would otherwise wait forever.
run_detached() {
  local log=$1
  shift
  (
    cd /
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    exec "$@" </dev/null >>"$log" 2>&1
  )
}

# Every Dovecot and Postfix process shuts down cleanly on SIGTERM, so all of them get it
# at once: a SIGTERM to Dovecot's master alone takes 1-3 s, as it waits for its auth
# process, which stays up while Postfix's smtpd holds a connection to it. Repeating the
# signal each second catches children a master spawned meanwhile, or orphans whose
# master was SIGKILLed.
stop_stack() {
  local pids deadline=$((SECONDS + STOP_WAIT_SECONDS)) round=0
  while pids=$(stack_pids) && [[ -n $pids ]]; do
    if ((SECONDS >= deadline)); then
      note "killing leftover processes: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086 # one PID per word
      kill -KILL $pids 2>/dev/null || true
      sleep 0.2
      break
    fi
    # shellcheck disable=SC2086
    ((round % 10 == 0)) && { kill -TERM $pids 2>/dev/null || true; }
    round=$((round + 1))
    sleep 0.1
  done
  # A listener can outlive its process for a moment; wait so that a following start never
  # races it.
  local base port
  base=$(env_value BASE_PORT) || true
  if [[ -n ${base:-} ]]; then
    deadline=$((SECONDS + STOP_WAIT_SECONDS))
    for ((port = base; port <= base + 7; port++)); do
      while port_in_use "$port"; do
        ((SECONDS < deadline)) || die "port $port is still in use after stop"
        sleep 0.1
      done
    done
  fi
}

# ---------------------------------------------------------------------------------------
# Users

# passwd-file lines are "user@domain:{PLAIN}password": ':' separates fields.
validate_user() {
  local email=$1 password=$2
  [[ $email =~ ^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$ ]] || die "invalid email address: $email"
  [[ $password != *[:$'\n\r']* && -n $password ]] ||
    die "password must be non-empty and contain no ':' or newline"
}

# Adds or replaces a user. The file is replaced atomically so a running auth process
# never reads half of it; Dovecot re-reads a passwd-file whose mtime or size changed.
put_user() {
  local email=${1,,} password=$2 tmp old_mtime new_mtime
  validate_user "$email" "$password"
  touch "$USERS"
  old_mtime=$(stat -c %Y "$USERS")
  tmp=$(mktemp "$USERS.XXXXXX")
  awk -F: -v user="$email" 'tolower($1) != user' "$USERS" >"$tmp"
  printf '%s:{PLAIN}%s\n' "$email" "$password" >>"$tmp"
  chown root:dovecot "$tmp" 2>/dev/null || true
  chmod 640 "$tmp"
  mv -f "$tmp" "$USERS"
  new_mtime=$(stat -c %Y "$USERS")
  if [[ $new_mtime == "$old_mtime" ]]; then
    touch -d "@$((old_mtime + 1))" "$USERS"
  fi
}

# Dovecot stats a passwd-file at most once per second, so a user added right after a
# lookup stays unknown for up to a second. Waits until both instances accept the new
# credentials, so callers can log in as soon as adduser returns.
wait_for_credentials() {
  local email=$1 password=$2 conf deadline=$((SECONDS + 5))
  for conf in "$CONF_A" "$CONF_B"; do
    [[ $conf == "$CONF_A" ]] && { master_pid dovecot-a >/dev/null || continue; }
    [[ $conf == "$CONF_B" ]] && { master_pid dovecot-b >/dev/null || continue; }
    # A lookup answers at once; a failed "auth test" costs ~0.5 s, so poll with the former.
    until doveadm -c "$conf" auth lookup "$email" >/dev/null 2>&1; do
      ((SECONDS < deadline)) || die "Dovecot ($conf) does not know $email"
      sleep 0.05
    done
    # Changed passwords: the user is known already; wait for the new password.
    until doveadm -c "$conf" auth test "$email" "$password" >/dev/null 2>&1; do
      ((SECONDS < deadline)) || die "Dovecot ($conf) does not accept the new password of $email"
      sleep 0.05
    done
  done
}

# Opens the user's mailbox list once: creates the Maildir and the auto = subscribe
# special-use folders right away instead of on first login.
touch_mailboxes() {
  doveadm -c "$CONF_A" mailbox list -u "$1" >/dev/null
}

# ---------------------------------------------------------------------------------------
# Configuration

# Reused across starts (key generation is the slowest step) unless DOMAIN changed.
make_cert() {
  mkdir -p "$TLS_DIR"
  if [[ -s $TLS_DIR/cert.pem && -s $TLS_DIR/key.pem ]] &&
    openssl x509 -noout -subject -in "$TLS_DIR/cert.pem" 2>/dev/null | grep -qF "CN = mail.$DOMAIN"; then
    return 0
  fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
    -subj "/CN=mail.$DOMAIN" \
    -addext "subjectAltName=DNS:mail.$DOMAIN,DNS:localhost,IP:127.0.0.1" \
    -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" >/dev/null 2>&1 ||
    die "openssl could not create the self-signed certificate"
  chmod 600 "$TLS_DIR/key.pem"
  chmod 644 "$TLS_DIR/cert.pem"
}

# Settings shared by both Dovecot instances.
dovecot_common_conf() {
  local dh=
  [[ -r /usr/share/dovecot/dh.pem ]] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
  cat <<EOF
listen = 127.0.0.1
# Otherwise greetings and Received: headers carry the machine's name.
hostname = mail.$DOMAIN
log_path = $LOG_DIR/$1.log
auth_verbose = yes

ssl = yes
ssl_cert = <$TLS_DIR/cert.pem
ssl_key = <$TLS_DIR/key.pem
$dh
# Loopback test clients log in without TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login${OAUTH_INTROSPECTION_URL:+ xoauth2 oauthbearer}
auth_username_format = %Lu
# A failed login still costs ~0.5 s; the default 2 s would slow every negative test.
auth_failure_delay = 0

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $USERS
}
EOF
  [[ -z ${OAUTH_INTROSPECTION_URL:-} ]] || cat <<EOF
# Bearer tokens: every login asks the introspection endpoint (no cache), so an expired or
# revoked token fails at the next connection.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $STATE/dovecot/oauth2.conf.ext
}
EOF
  cat <<EOF
# Lines carry no userdb fields, so the userdb is static; allow_all_users = no makes it
# check existence with a passdb lookup (LMTP then rejects unknown recipients).
userdb {
  driver = static
  args = uid=$VMAIL_UID gid=$VMAIL_GID home=$MAIL_ROOT/%Ld/%Ln allow_all_users=no
}

# Dovecot refuses to access mail as root.
mail_uid = $VMAIL_UID
mail_gid = $VMAIL_GID
first_valid_uid = $VMAIL_UID
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 200

# Dovecot's auth penalty delays every login from an IP by 2, 4, 8 ... 15 s after failed
# attempts from it: all test clients share 127.0.0.1, so one negative test would slow
# down the rest of the run. An unreachable penalty socket disables the feature.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

default_process_limit = 500
default_client_limit = 5000
service imap-login {
  # One login process per connection (the default) costs a fork for every test client.
  service_count = 0
  process_min_avail = 1
}

namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}
EOF
}

# The oauth2 passdb's settings, shared by both Dovecots.
write_dovecot_oauth() {
  rm -f "$STATE/dovecot/oauth2.conf.ext"
  [[ -n ${OAUTH_INTROSPECTION_URL:-} ]] || return 0
  [[ $OAUTH_INTROSPECTION_URL =~ ^http://127\.0\.0\.1:[0-9]+/[A-Za-z0-9/_-]*$ ]] ||
    die "OAUTH_INTROSPECTION_URL must be http://127.0.0.1:PORT/PATH: $OAUTH_INTROSPECTION_URL"
  mkdir -p "$STATE/dovecot"
  cat >"$STATE/dovecot/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = $OAUTH_INTROSPECTION_URL
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
EOF
  chmod 644 "$STATE/dovecot/oauth2.conf.ext"
}

write_dovecot_a() {
  mkdir -p "$(dirname "$CONF_A")" "$STATE/dovecot/a/state"
  {
    cat <<EOF
# Dovecot A: IMAP, IMAPS, POP3, LMTP and SASL auth for Postfix. Generated by mail-stack.sh.
instance_name = $INSTANCE_A
base_dir = $BASE_DIR_A
state_dir = $STATE/dovecot/a/state
protocols = imap pop3 lmtp

EOF
    dovecot_common_conf dovecot-a
    cat <<EOF

service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
# Postfix's smtpd_sasl_path = inet:127.0.0.1:PORT talks to this listener.
service auth {
  inet_listener {
    address = 127.0.0.1
    port = $AUTH_PORT
  }
}

protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
EOF
  } >"$CONF_A"
}

write_dovecot_b() {
  mkdir -p "$(dirname "$CONF_B")" "$STATE/dovecot/b/state"
  {
    cat <<EOF
# Dovecot B: IMAP only, same users and Maildirs as A, without CONDSTORE/QRESYNC in its
# capability list. Generated by mail-stack.sh.
instance_name = $INSTANCE_B
base_dir = $BASE_DIR_B
state_dir = $STATE/dovecot/b/state
protocols = imap

EOF
    dovecot_common_conf dovecot-b
    cat <<EOF

service imap-login {
  inet_listener imap {
    port = $IMAP_NO_CONDSTORE_PORT
  }
  inet_listener imaps {
    port = 0
  }
}

protocol imap {
  # Dovecot 2.3.19's built-in post-login list minus CONDSTORE and QRESYNC (RFC 7162).
  # imap_capability only changes what is advertised: see README.md for what B still
  # does when a client uses those extensions anyway.
  imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE
}
EOF
  } >"$CONF_B"
}

write_postfix() {
  mkdir -p "$PF_ETC" "$PF_SPOOL" "$PF_DATA"
  # Postfix insists on root-owned queue and postfix-owned data directories.
  chown root:root "$PF_SPOOL"
  chown postfix:postfix "$PF_DATA"
  local domain_re=${DOMAIN//./\\.}
  cat >"$PF_ETC/main.cf" <<EOF
# Private Postfix instance. Generated by mail-stack.sh.
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-ms$TAG
# No syslog daemon here (postlogd writes this file; its prefix must be whitelisted).
maillog_file = $LOG_DIR/postfix.log
maillog_file_prefixes = $LOG_DIR

# Without myhostname Postfix would need /etc/mailname or a resolvable FQDN.
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
append_dot_mydomain = no
biff = no
smtpd_banner = \$myhostname ESMTP

# No DNS at all: test runs must not depend on (or leak to) a resolver.
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_peername_lookup = no

# DOMAIN is a virtual mailbox domain delivered to Dovecot A over LMTP. Unknown users are
# accepted here and bounced by Dovecot's LMTP, like a server without recipient lookup.
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps =
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
# Must stay empty: it defaults to \$virtual_alias_maps, and the catch-all regexp below
# would turn every domain (DOMAIN included) into an alias-only domain.
virtual_alias_domains =
# Every other domain is rewritten to the sink mailbox: nothing ever leaves the machine.
virtual_alias_maps = regexp:$PF_ETC/sink_aliases
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled in the test stack
relay_transport = error:5.7.1 relaying is disabled in the test stack
default_transport = error:5.7.1 outbound delivery is disabled in the test stack

# Dovecot 2.3's LMTP does not offer SMTPUTF8; Postfix would bounce such mail.
smtputf8_enable = no
message_size_limit = 52428800
# Tests and benchmarks submit in bursts from one IP: no throttling, no tarpitting.
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtpd_client_connection_count_limit = 0
smtpd_client_event_limit_exceptions = 127.0.0.0/8
# Deferred mail (e.g. while Dovecot restarts) is retried within seconds, not minutes.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
delay_warning_time = 0

smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS_DIR/cert.pem
smtpd_tls_key_file = $TLS_DIR/key.pem
smtpd_tls_auth_only = no
smtp_tls_security_level = none
lmtp_tls_security_level = none

smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTH_PORT
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
EOF

  cat >"$PF_ETC/sink_aliases" <<EOF
# Every recipient outside @$DOMAIN (subdomains included) goes to the sink mailbox.
if !/@$domain_re\$/
/^(.*)\$/	$SINK_LOCALPART@$DOMAIN
endif
EOF

  # chroot = n everywhere: a chroot would need copies of /etc files inside the queue.
  cat >"$PF_ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
  -o syslog_name=postfix-ms$TAG/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$SMTP_MX_PORT inet n - n - - smtpd
  -o syslog_name=postfix-ms$TAG/mx
  -o smtpd_relay_restrictions=reject_unauth_destination
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  # Postfix waits before reading a config file modified within the last second.
  touch -d "@$(($(date +%s) - 10))" "$PF_ETC"/*
}

write_env() {
  local tmp
  tmp=$(mktemp "$ENV_FILE.XXXXXX")
  cat >"$tmp" <<EOF
MAIL_DOMAIN=$DOMAIN
IMAP_HOST=127.0.0.1
IMAP_PORT=$IMAP_PORT
IMAPS_PORT=$IMAPS_PORT
POP3_PORT=$POP3_PORT
LMTP_PORT=$LMTP_PORT
AUTH_PORT=$AUTH_PORT
IMAP_NO_CONDSTORE_PORT=$IMAP_NO_CONDSTORE_PORT
SMTP_HOST=127.0.0.1
SMTP_PORT=$SMTP_PORT
SMTP_MX_PORT=$SMTP_MX_PORT
DOVECOT_CONF=$CONF_A
DOVECOT_B_CONF=$CONF_B
POSTFIX_CONF_DIR=$PF_ETC
USERS_FILE=$USERS
TLS_CERT=$TLS_DIR/cert.pem
SINK_USER=$SINK_LOCALPART@$DOMAIN
SINK_PASSWORD=$SINK_PASSWORD
STATE_DIR=$STATE
BASE_PORT=$BASE_PORT
OAUTH_INTROSPECTION_URL=${OAUTH_INTROSPECTION_URL:-}
EOF
  chmod 644 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

# Postfix prints fatal errors from before its logging is up (bad main.cf, socket paths)
# only when stderr is a terminal: "postfix check" under script(1) reproduces them.
postfix_diagnostics() {
  echo "--- postfix check ---" >&2
  if command -v script >/dev/null; then
    script -qec "postfix -c $PF_ETC check" /dev/null </dev/null >&2 || true
  else
    postfix -c "$PF_ETC" check >&2 || true
  fi
  tail -n 20 "$LOG_DIR/postfix.log" >&2 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# Readiness

# True once the port answers with its protocol's greeting (the listener alone is not
# enough: Dovecot binds before its login processes are ready).
greets() {
  local port=$1 fd line
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
  if ! IFS= read -r -t 2 line <&"$fd"; then
    exec {fd}>&-
    return 1
  fi
  exec {fd}>&-
  [[ $line == "* OK"* || $line == "+OK"* || $line == 220* || $line == VERSION* ]]
}

wait_for_ports() {
  local deadline=$((SECONDS + PORT_WAIT_SECONDS)) port pending
  local -a names=(imap imaps pop3 lmtp auth imap-no-condstore smtp-submission smtp-mx)
  local -a logs=(dovecot-a dovecot-a dovecot-a dovecot-a dovecot-a dovecot-b postfix postfix)
  while :; do
    pending=()
    for i in "${!ALL_PORTS[@]}"; do
      port=${ALL_PORTS[$i]}
      # IMAPS speaks TLS first; a plain connect is all we can check cheaply.
      if [[ $port == "$IMAPS_PORT" ]]; then
        port_in_use "$port" || pending+=("$i")
      else
        greets "$port" || pending+=("$i")
      fi
    done
    ((${#pending[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      local shown=" "
      for i in "${pending[@]}"; do
        note "${names[$i]} (port ${ALL_PORTS[$i]}) did not answer within ${PORT_WAIT_SECONDS}s"
        if [[ $shown != *" ${logs[$i]} "* ]]; then
          shown+="${logs[$i]} "
          echo "--- $LOG_DIR/${logs[$i]}.log (tail) ---" >&2
          tail -n 25 "$LOG_DIR/${logs[$i]}.log" >&2 2>/dev/null || true
        fi
      done
      return 1
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------
# Commands

cmd_start() {
  (($# >= 2 && $# <= 3)) || usage
  init_paths "$1"
  init_ports "$2"
  DOMAIN=${3:-example.test}
  DOMAIN=${DOMAIN,,}
  [[ $DOMAIN =~ ^[a-z0-9-]+(\.[a-z0-9-]+)+$ ]] || die "invalid DOMAIN: $DOMAIN"
  choose_short_paths

  ((EUID == 0)) || die "must run as root (Dovecot switches to the mail uid $VMAIL_UID)"
  ensure_packages
  mkdir -p "$STATE"
  stop_stack

  local port busy=0
  for port in "${ALL_PORTS[@]}"; do
    if port_in_use "$port"; then
      note "port $port is already in use by another program:"
      ss -ltnpH "sport = :$port" >&2 2>/dev/null || true
      busy=1
    fi
  done
  ((busy == 0)) || die "choose another BASE_PORT"

  rm -f "$ENV_FILE"
  # Stale sockets would make Dovecot's auth process log connection errors (the disabled
  # anvil-auth-penalty listener is never recreated, so its old socket file stays).
  rm -rf "$BASE_DIR_A" "$BASE_DIR_B"
  # mktemp -d style 0700 folders would lock out the vmail uid and the dovecot user.
  chmod 755 "$STATE"
  mkdir -p "$LOG_DIR" "$MAIL_ROOT" "$BASE_DIR_A" "$BASE_DIR_B" "$PF_SPOOL"
  chown "$VMAIL_UID:$VMAIL_GID" "$MAIL_ROOT"
  chmod 755 "$LOG_DIR" "$(dirname "$BASE_DIR_A")"
  [[ $PF_QUEUE == "$PF_SPOOL" ]] || ln -sfn "$PF_SPOOL" "$PF_QUEUE"

  make_cert
  if [[ ! -f $USERS ]] || ! grep -q -i "^$SINK_LOCALPART@${DOMAIN//./\\.}:" "$USERS"; then
    put_user "$SINK_LOCALPART@$DOMAIN" "$SINK_PASSWORD"
  fi
  write_dovecot_oauth
  write_dovecot_a
  write_dovecot_b
  write_postfix

  run_detached "$LOG_DIR/dovecot-a.log" dovecot -c "$CONF_A" ||
    {
      tail -n 20 "$LOG_DIR/dovecot-a.log" >&2
      die "Dovecot A did not start"
    }
  run_detached "$LOG_DIR/dovecot-b.log" dovecot -c "$CONF_B" ||
    {
      tail -n 20 "$LOG_DIR/dovecot-b.log" >&2
      die "Dovecot B did not start"
    }
  run_detached "$LOG_DIR/postfix-start.log" postfix -c "$PF_ETC" start || {
    postfix_diagnostics
    die "Postfix did not start"
  }

  wait_for_ports || {
    stop_stack || true
    die "the mail stack did not come up"
  }
  touch_mailboxes "$SINK_LOCALPART@$DOMAIN"
  write_env
  cat "$ENV_FILE"
}

# Several EMAIL PASSWORD pairs may follow STATE_DIR: the file is rewritten per user but
# the (up to one second) wait for Dovecot to notice happens once.
cmd_adduser() {
  (($# >= 3 && $# % 2 == 1)) || usage
  init_paths "$1"
  shift
  [[ -f $CONF_A ]] || die "no Dovecot config in $STATE: run start first"
  local -a pairs=("$@")
  local lock
  # Test files add users at the same time: without the lock two read-modify-write cycles of the
  # passwd-file interleave and the later rename drops the other's user.
  exec {lock}>"$USERS.lock"
  flock "$lock"
  while (($# > 0)); do
    put_user "$1" "$2"
    shift 2
  done
  flock -u "$lock"
  exec {lock}>&-
  # A stopped stack picks the users up when it starts.
  master_pid dovecot-a >/dev/null || return 0
  set -- "${pairs[@]}"
  while (($# > 0)); do
    wait_for_credentials "${1,,}" "$2"
    touch_mailboxes "${1,,}"
    shift 2
  done
}

# Writes FILEs straight into the user's Maildir and lets Dovecot index them: much faster
# than APPEND or SMTP for large fixtures. SEED_FLAGS (Maildir flag letters, e.g. "S" for
# \Seen) applies to every file; the file's Date: header becomes its INTERNALDATE.
cmd_seed() {
  (($# >= 4)) || usage
  init_paths "$1"
  local email=${2,,} folder=$3
  shift 3
  # doveadm resolves users through the running Dovecot A's auth process.
  master_pid dovecot-a >/dev/null || die "the stack in $STATE is not running: start it first"
  local flags=${SEED_FLAGS:-}
  [[ $flags =~ ^[A-Za-z]*$ ]] || die "SEED_FLAGS must be Maildir flag letters"
  flags=$(printf '%s' "$flags" | fold -w1 | LC_ALL=C sort -u | tr -d '\n')

  # Creating the folder through Dovecot gets the layout (Maildir++ ".A.B") right.
  if [[ ${folder^^} != INBOX ]]; then
    doveadm -c "$CONF_A" mailbox create -u "$email" "$folder" 2>/dev/null || true
  fi
  # Opening the folder once makes Dovecot create its Maildir (cur/new/tmp) as the vmail user.
  doveadm -c "$CONF_A" mailbox status -u "$email" messages "$folder" >/dev/null ||
    die "unknown user or folder: $email $folder"
  local maildir
  maildir=$(doveadm -c "$CONF_A" mailbox path -u "$email" -t mailbox "$folder")
  [[ -d $maildir/cur ]] || die "no Maildir for $email $folder at $maildir"

  local file n
  for file in "$@"; do
    [[ -f $file ]] || die "not a file: $file"
  done
  # One perl process for all files: a few forks per message would make large fixtures
  # (thousands of messages) take minutes.
  n=$(perl -e "$SEED_PERL" "$maildir" "$flags" "$VMAIL_UID" "$VMAIL_GID" "$@") ||
    die "seeding $email/$folder failed"
  doveadm -c "$CONF_A" index -u "$email" "$folder"
  note "seeded $n message(s) into $email/$folder"
}

# Copies FILEs into DIR/cur under Maildir names (TIME.UNIQUE.HOST:2,FLAGS, maildir(5)) and
# sets each file's mtime from its Date: header: Dovecot's INTERNALDATE for Maildir is the
# file's mtime. Prints the number of files. perl-base (POSIX) is Essential on Debian.
read -r -d '' SEED_PERL <<'PERL' || true
use strict;
use warnings;
use POSIX qw(mktime tzset);
$ENV{TZ} = 'UTC';
tzset();
my ($dir, $flags, $uid, $gid, @files) = @ARGV;
my %month;
@month{qw(jan feb mar apr may jun jul aug sep oct nov dec)} = (0 .. 11);
# RFC 5322 section 4.3 obsolete zone names.
my %zone = (ut => 0, gmt => 0, z => 0, est => -5, edt => -4, cst => -6, cdt => -5,
            mst => -7, mdt => -6, pst => -8, pdt => -7);
my ($now, $n) = (time, 0);
for my $file (@files) {
    open(my $in, '<:raw', $file) or die "$file: $!\n";
    my $data = do { local $/; <$in> };
    close $in;
    $n++;
    # Zero-padded so that name order, which Dovecot follows when it assigns UIDs, is
    # argument order.
    my $name = sprintf '%s/cur/%d.M%06dP%d.seed:2,%s', $dir, $now, $n, $$, $flags;
    open(my $out, '>:raw', $name) or die "$name: $!\n";
    print {$out} $data;
    close $out or die "$name: $!\n";
    chown $uid, $gid, $name;
    chmod 0600, $name;
    my ($head) = split /\r?\n\r?\n/, $data, 2;
    next unless defined $head && $head =~
        /^Date:[ \t]*(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d\d)(?::(\d\d))?\s*([+-]\d{4}|[A-Za-z]{1,5})?/mi;
    my ($d, $mon, $y, $hh, $mm, $ss, $z) = ($1, lc $2, $3, $4, $5, $6 // 0, $7 // '+0000');
    next unless exists $month{$mon};
    $y += $y < 50 ? 2000 : 1900 if $y < 100;
    my $t = mktime($ss, $mm, $hh, $d, $month{$mon}, $y - 1900);
    next unless defined $t;
    if ($z =~ /^([+-])(\d\d)(\d\d)$/) {
        $t -= ($1 eq '-' ? -1 : 1) * ($2 * 3600 + $3 * 60);
    } elsif (exists $zone{lc $z}) {
        $t -= $zone{lc $z} * 3600;
    }
    utime $t, $t, $name;
}
print "$n\n";
PERL

cmd_stop() {
  (($# == 1)) || usage
  init_paths "$1"
  stop_stack
}

cmd_status() {
  (($# == 1)) || usage
  init_paths "$1"
  local name pid running=0
  for name in dovecot-a dovecot-b postfix; do
    if pid=$(master_pid "$name"); then
      echo "$name: running (master pid $pid)"
      running=$((running + 1))
    else
      echo "$name: stopped"
    fi
  done
  local base
  base=$(env_value BASE_PORT 2>/dev/null) || true
  if [[ -n ${base:-} ]]; then
    init_ports "$base"
    local port line="ports:"
    for port in "${ALL_PORTS[@]}"; do
      if port_in_use "$port"; then line+=" $port=up"; else line+=" $port=down"; fi
    done
    echo "$line"
    local queued
    queued=$(find "$PF_SPOOL/incoming" "$PF_SPOOL/active" "$PF_SPOOL/deferred" "$PF_SPOOL/hold" \
      -type f 2>/dev/null | wc -l)
    echo "postfix queue: $queued message(s)"
  fi
  ((running == 3))
}

main() {
  local cmd=${1:-}
  (($# > 0)) && shift
  case $cmd in
  start) cmd_start "$@" ;;
  adduser) cmd_adduser "$@" ;;
  seed) cmd_seed "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  *) usage ;;
  esac
}

main "$@"
