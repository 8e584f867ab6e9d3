#!/usr/bin/env bash
# Browser test of the web UI: runs examples/8-monitoring on the embedded
# broker, opens the monitor page of its main processor in headless Chromium
# and checks what the page rendered, not what the server sent: the script of
# the page must have polled the stats and drawn one row per partition, with
# the table state and an input offset that moved. It keeps the rendered DOM
# and a screenshot as test artefacts.
#
#   scripts/browser-test.sh
#
# Chromium comes from Debian's package, installed with apt-get when missing
# (as root, or through sudo). Everything the test starts runs in process
# groups of its own and is stopped at the end, also on failure or Ctrl-C.
#
# Knobs (environment):
#   CHROMIUM         the browser binary (chromium)
#   PARTITIONS       partitions of the example's streams (4)
#   ARTIFACTS        where the DOM and the screenshot go (test-artifacts)
#   BROWSER_TIMEOUT  seconds one Chromium run may take (60)
#   READY_TIMEOUT    seconds the example may take to show processed clicks (60)
#   STOP_TIMEOUT     seconds the example may take to stop on SIGTERM (30)
set -euo pipefail
shopt -s inherit_errexit

CHROMIUM="${CHROMIUM:-chromium}"
PARTITIONS="${PARTITIONS:-4}"
BROWSER_TIMEOUT="${BROWSER_TIMEOUT:-60}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARTIFACTS="${ARTIFACTS:-$ROOT/test-artifacts}"
# Virtual time lets the page's timers run ahead without waiting for real
# seconds: enough for the first polls of /data, which happen within the
# first refresh interval.
VIRTUAL_TIME_MS=5000
# How often a DOM that lacks the partitions is loaded again before failing:
# the example may still be joining its group on the first try.
DOM_ATTEMPTS=5

log() { printf 'browser-test: %s\n' "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

started=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/browser-test.XXXXXX")"
example_pid=""

cleanup() {
	if [[ -n "$example_pid" ]]; then
		stop_group "$example_pid" 20
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source-path=SCRIPTDIR source=lib/example-process.sh
source "$ROOT/scripts/lib/example-process.sh"

as_root() {
	if [[ "$(id -u)" == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		die "need root or sudo to run: $*"
	fi
}

install_chromium() {
	command -v "$CHROMIUM" >/dev/null 2>&1 && return 0
	command -v apt-get >/dev/null 2>&1 || die "$CHROMIUM is missing and there is no apt-get to install it"
	log "installing chromium with apt-get"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
	command -v "$CHROMIUM" >/dev/null 2>&1 || die "apt-get installed chromium but $CHROMIUM is not on PATH"
}

# browser runs headless Chromium in a process group of its own with a fresh
# profile, bounded by BROWSER_TIMEOUT, and removes every process it left.
# Its stdout goes to the file $1; the remaining arguments are Chromium's.
browser() {
	local out=$1
	shift
	local profile
	profile="$(mktemp -d "$work/profile.XXXXXX")"
	setsid "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$profile" "$@" >"$out" 2>>"$work/chromium.log" &
	local pid=$! deadline=$((SECONDS + BROWSER_TIMEOUT)) status=0
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			stop_group "$pid" 5
			die "chromium did not finish within ${BROWSER_TIMEOUT}s; its log: $(tail -n 20 "$work/chromium.log")"
		fi
		sleep 0.2
	done
	wait "$pid" || status=$?
	# Helpers (zygote, crashpad) may outlive the browser process by a moment.
	stop_group "$pid" 5
	((status == 0)) || die "chromium exited with status $status; its log: $(tail -n 20 "$work/chromium.log")"
}

# check_dom prints nothing and returns 0 when the rendered monitor page shows
# the partitions; otherwise it prints why not and returns 1.
check_dom() {
	local dom
	dom="$(tr -d '\n' <"$1")"
	local polls
	polls="$(grep -o 'id="monitor"[^>]*' <<<"$dom" | grep -o 'data-polls="[0-9]*"' | grep -o '[0-9]\+' || true)"
	if [[ -z "$polls" || "$polls" -lt 1 ]]; then
		echo "#monitor has no data-polls >= 1: the page's script never drew a poll (poll error: $(grep -o '<div id="poll-error"[^<]*<*[^<]*' <<<"$dom" || true))"
		return 1
	fi
	local shown
	shown="$(grep -o 'id="monitor"[^>]*' <<<"$dom" | grep -o 'data-partitions="[0-9]*"' | grep -o '[0-9]\+' || true)"
	# Only the rows of the partitions table, not those of lookup tables.
	local table
	table="$(sed -e 's/.*id="partitions"//' -e 's#</table>.*##' <<<"$dom")"
	local rows
	rows="$(grep -o '<tr data-partition="[0-9]*"' <<<"$table" | wc -l)"
	if [[ "$rows" != "$PARTITIONS" || "$shown" != "$PARTITIONS" ]]; then
		echo "want $PARTITIONS partition rows, the page has $rows (data-partitions=\"$shown\")"
		return 1
	fi
	local p
	for ((p = 0; p < PARTITIONS; p++)); do
		grep -q "<tr data-partition=\"$p\"" <<<"$table" || {
			echo "no row for partition $p"
			return 1
		}
	done
	local states
	states="$(grep -o 'data-col="state"><span class="state [a-z]*"' <<<"$table" | grep -c 'state running"' || true)"
	if [[ "$states" != "$PARTITIONS" ]]; then
		echo "want every partition's table running, $states of $PARTITIONS are: $(grep -o 'data-col="state"><span[^>]*>[^<]*' <<<"$table" | sed 's/.*>//' | tr '\n' ' ')"
		return 1
	fi
	local offsets max=0 o
	offsets="$(grep -o 'data-col="offset"[^>]*>[^<]*' <<<"$table" | sed 's/.*>//' | tr -d ',')"
	for o in $offsets; do
		if [[ "$o" =~ ^[0-9]+$ ]] && ((o > max)); then
			max=$o
		fi
	done
	if ((max < 1)); then
		echo "no input offset above 0 in the offset cells: $(tr '\n' ' ' <<<"$offsets")"
		return 1
	fi
	log "DOM: data-polls=$polls, $rows partition rows, all running, highest input offset $max"
}

install_chromium
command -v go >/dev/null 2>&1 || die "go is not on PATH"
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS/monitor.html" "$ARTIFACTS/monitor.png"

log "building examples/8-monitoring"
(cd "$ROOT" && go build -o "$work/8-monitoring" ./examples/8-monitoring) || die "building examples/8-monitoring failed"

start_example "$work/8-monitoring" -addr 127.0.0.1:0 -partitions "$PARTITIONS" -duration 10m
wait_for_output 'counted [1-9][0-9]* clicks' "$READY_TIMEOUT" "processed no click"
url="$(example_url)"
[[ -n "$url" ]] || die "the example printed no 'web UI at http://…/' line; its output:
$(cat "$work/example.log")"
page="${url}monitor/processor/0"
log "example up at $url; rendering $page"

why=""
for ((attempt = 1; attempt <= DOM_ATTEMPTS; attempt++)); do
	browser "$ARTIFACTS/monitor.html" --virtual-time-budget="$VIRTUAL_TIME_MS" --dump-dom "$page"
	if why="$(check_dom "$ARTIFACTS/monitor.html")"; then
		break
	fi
	log "attempt $attempt: $why"
	if ((attempt == DOM_ATTEMPTS)); then
		die "the monitor page did not show the partitions after $DOM_ATTEMPTS attempts: $why (DOM kept in $ARTIFACTS/monitor.html)"
	fi
	sleep 1
done

browser /dev/null --virtual-time-budget="$VIRTUAL_TIME_MS" --window-size=1280,900 \
	--screenshot="$ARTIFACTS/monitor.png" "$page"
[[ "$(head -c 8 "$ARTIFACTS/monitor.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] ||
	die "chromium wrote no PNG screenshot to $ARTIFACTS/monitor.png"

# A clean stop: the example must end by itself on SIGTERM, with status 0,
# within STOP_TIMEOUT seconds.
pid=$example_pid
kill -TERM "$pid"
deadline=$((SECONDS + STOP_TIMEOUT))
while kill -0 "$pid" 2>/dev/null; do
	((SECONDS < deadline)) || die "the example did not stop within ${STOP_TIMEOUT}s of SIGTERM; its output:
$(tail -n 20 "$work/example.log")"
	sleep 0.2
done
status=0
wait "$pid" || status=$?
example_pid=""
if kill -0 -- "-$pid" 2>/dev/null; then
	stop_group "$pid" 5
	die "processes of the example were left running after it exited"
fi
((status == 0)) || die "the example exited with status $status on SIGTERM; its output:
$(tail -n 20 "$work/example.log")"

log "PASS in $((SECONDS - started))s; artefacts: $ARTIFACTS/monitor.html, $ARTIFACTS/monitor.png"
