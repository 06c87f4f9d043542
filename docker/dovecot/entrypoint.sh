#!/bin/sh
# Entry point of the Dovecot image (runs as vmail, uid 5000).
#
#   entrypoint.sh dovecot -F     prepare, then run Dovecot in the foreground (the default)
#   entrypoint.sh healthcheck    exit 0 when IMAP answers with its greeting
#
# Environment:
#   MAIL_DOMAIN  the stack's mail domain (default example.test); sink@MAIL_DOMAIN always exists
#                and receives everything Postfix accepts for other domains
#   MAIL_USERS   accounts to create, "user@domain:password" separated by spaces or commas
set -eu

MAIL_DOMAIN=$(printf '%s' "${MAIL_DOMAIN:-example.test}" | tr '[:upper:]' '[:lower:]')
MAIL_USERS=${MAIL_USERS:-}
TLS_DIR=/var/mail/.tls
USERS_FILE=/run/dovecot-auth/users

die() {
  echo "dovecot-entrypoint: $*" >&2
  exit 1
}

healthcheck() {
  exec bash -c '
    exec 3<>/dev/tcp/127.0.0.1/143 || exit 1
    IFS= read -r -t 5 greeting <&3 || exit 1
    printf "a LOGOUT\r\n" >&3
    [[ $greeting == "* OK"* ]]
  '
}

# Self-signed, kept in the mail volume so clients that pinned it keep trusting it across restarts.
ensure_certificate() {
  [ -s "$TLS_DIR/cert.pem" ] && [ -s "$TLS_DIR/key.pem" ] && return 0
  mkdir -p "$TLS_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
    -subj "/CN=mail.$MAIL_DOMAIN" \
    -addext "subjectAltName=DNS:mail.$MAIL_DOMAIN,DNS:dovecot,DNS:localhost,IP:127.0.0.1" \
    -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" >/dev/null 2>&1 ||
    die "openssl could not create the self-signed certificate"
  chmod 600 "$TLS_DIR/key.pem"
  echo "dovecot-entrypoint: created a self-signed certificate for mail.$MAIL_DOMAIN in $TLS_DIR"
}

# passwd-file lines "user@domain:{SCHEME}hash", rebuilt from MAIL_USERS on every start so the
# environment is the one source of truth for accounts.
write_users() {
  tmp=$(mktemp "$USERS_FILE.XXXXXX")
  printf 'sink@%s:%s\n' "$MAIL_DOMAIN" "$(doveadm pw -s SHA512-CRYPT -p sink)" >"$tmp"
  # Split on spaces and commas only: a password containing * must not be globbed.
  set -f
  for entry in $(printf '%s' "$MAIL_USERS" | tr ',' ' '); do
    user=${entry%%:*}
    password=${entry#*:}
    case $user in
    *[!A-Za-z0-9._+@-]* | *@*@* | @* | *@ | '') die "MAIL_USERS: '$user' is not an address" ;;
    *@*) ;;
    *) die "MAIL_USERS: '$user' is not an address" ;;
    esac
    if [ "$password" = "$entry" ] || [ -z "$password" ]; then die "MAIL_USERS: no password for $user"; fi
    printf '%s:%s\n' "$(printf '%s' "$user" | tr '[:upper:]' '[:lower:]')" "$(doveadm pw -s SHA512-CRYPT -p "$password")" >>"$tmp"
  done
  set +f
  chmod 600 "$tmp"
  mv -f "$tmp" "$USERS_FILE"
  echo "dovecot-entrypoint: $(wc -l <"$USERS_FILE") account(s) for Dovecot"
}

case ${1:-} in
healthcheck)
  healthcheck
  ;;
dovecot)
  case $MAIL_DOMAIN in
  *[!a-z0-9.-]* | .* | *. | *..* | '') die "MAIL_DOMAIN is not a domain name: $MAIL_DOMAIN" ;;
  esac
  [ "$(id -u)" != 0 ] || die "refusing to run as root; the image runs as vmail (uid 5000)"
  mkdir -p /var/mail/.dovecot-state
  ensure_certificate
  write_users
  exec "$@"
  ;;
*)
  exec "$@"
  ;;
esac
