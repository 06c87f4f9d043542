#!/bin/sh
# Entry point of the Postfix image.
#
#   entrypoint.sh postfix start-fg   configure from the environment, check, run (the default)
#   entrypoint.sh healthcheck        exit 0 while the Postfix master runs
#
# Environment:
#   MAIL_DOMAIN   the stack's mail domain (default example.test), delivered to Dovecot
#   DOVECOT_HOST  where Dovecot's LMTP (24) and SASL auth (12345) listen (default dovecot)
#
# Postfix's master process must start as root (it binds ports and hands each daemon its own
# unprivileged user); every daemon that talks to the network runs as the postfix user.
set -eu

MAIL_DOMAIN=$(printf '%s' "${MAIL_DOMAIN:-example.test}" | tr '[:upper:]' '[:lower:]')
DOVECOT_HOST=${DOVECOT_HOST:-dovecot}
TLS_DIR=/etc/postfix/tls

die() {
  echo "postfix-entrypoint: $*" >&2
  exit 1
}

configure() {
  case $MAIL_DOMAIN in
  *[!a-z0-9.-]* | .* | *. | *..* | '') die "MAIL_DOMAIN is not a domain name: $MAIL_DOMAIN" ;;
  esac
  case $DOVECOT_HOST in
  *[!A-Za-z0-9.-]* | '') die "DOVECOT_HOST is not a host name: $DOVECOT_HOST" ;;
  esac
  postconf -e \
    "myhostname=mail.$MAIL_DOMAIN" \
    "mydomain=$MAIL_DOMAIN" \
    "virtual_mailbox_domains=$MAIL_DOMAIN" \
    "virtual_transport=lmtp:inet:$DOVECOT_HOST:24" \
    "smtpd_sasl_path=inet:$DOVECOT_HOST:12345"

  domain_re=$(printf '%s' "$MAIL_DOMAIN" | sed 's/\./\\./g')
  cat >/etc/postfix/sink_aliases <<ALIASES
# Recipients outside $MAIL_DOMAIN go to the sink mailbox: nothing leaves the stack.
if !/@$domain_re\$/
/^(.*)\$/	sink@$MAIL_DOMAIN
endif
ALIASES

  if [ ! -s "$TLS_DIR/cert.pem" ] || [ ! -s "$TLS_DIR/key.pem" ]; then
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
      -subj "/CN=mail.$MAIL_DOMAIN" \
      -addext "subjectAltName=DNS:mail.$MAIL_DOMAIN,DNS:postfix,DNS:localhost,IP:127.0.0.1" \
      -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" >/dev/null 2>&1 ||
      die "openssl could not create the self-signed certificate"
    chmod 600 "$TLS_DIR/key.pem"
    echo "postfix-entrypoint: created a self-signed certificate for mail.$MAIL_DOMAIN in $TLS_DIR"
  fi

  # Postfix waits before reading a configuration file modified within the last second.
  touch -d "@$(($(date +%s) - 10))" /etc/postfix/main.cf /etc/postfix/sink_aliases
  # Fatal configuration errors would otherwise only show up as a master that exits at once.
  postfix check || die "postfix check failed"
}

case ${1:-} in
healthcheck)
  exec postfix status
  ;;
postfix)
  [ "$(id -u)" = 0 ] || die "the Postfix master must start as root"
  configure
  exec "$@"
  ;;
*)
  exec "$@"
  ;;
esac
