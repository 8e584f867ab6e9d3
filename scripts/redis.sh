#!/usr/bin/env bash
# Provides the redis-server binary that the storage/redis tests and the Redis
# example start themselves, each on a free loopback port of its own.
#
#   scripts/redis.sh install   install Debian's redis-server when it is missing
#   scripts/redis.sh check     exit 0 when redis-server is on PATH, print its version
#
# Only the binary is wanted: the packaged system service would listen on port
# 6379 and outlive the tests, so install stops and disables it again (Debian
# starts it as part of the installation wherever services may start, as on CI
# runners).
#
# Knobs (environment):
#   REDIS_SERVER   the binary to look for (redis-server)
set -euo pipefail
shopt -s inherit_errexit

REDIS_SERVER="${REDIS_SERVER:-redis-server}"

log() { printf 'redis.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# as_root runs a command as root, through sudo when we are not root already
# (CI runners), directly otherwise (containers often have no sudo).
as_root() {
	if [[ "$(id -u)" == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "need root or sudo to run: $*"
	fi
}

have_server() {
	command -v "$REDIS_SERVER" >/dev/null 2>&1
}

# stop_service stops the packaged service and keeps it from starting at boot.
# Every step may fail harmlessly: there may be no systemd, no service, or a
# policy that never let it start.
stop_service() {
	if command -v systemctl >/dev/null 2>&1; then
		if [[ -d /run/systemd/system ]]; then
			as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
		else
			# Without a running systemd, disable still removes the unit links.
			as_root systemctl disable redis-server >/dev/null 2>&1 || true
		fi
	fi
	as_root service redis-server stop >/dev/null 2>&1 || true
	if command -v update-rc.d >/dev/null 2>&1; then
		as_root update-rc.d redis-server disable >/dev/null 2>&1 || true
	fi
	if pgrep -x redis-server >/dev/null 2>&1; then
		log "warning: a redis-server process is still running after the install"
	fi
}

cmd_install() {
	if have_server; then
		log "$("$REDIS_SERVER" --version | head -n 1)"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "$REDIS_SERVER is missing and there is no apt-get to install it"
	log "installing redis-server with apt-get"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
	stop_service
	have_server || die "apt-get installed redis-server but $REDIS_SERVER is not on PATH"
	log "$("$REDIS_SERVER" --version | head -n 1)"
}

cmd_check() {
	have_server || die "$REDIS_SERVER is missing; run scripts/redis.sh install"
	"$REDIS_SERVER" --version | head -n 1
}

usage() {
	sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
install) cmd_install ;;
check) cmd_check ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
