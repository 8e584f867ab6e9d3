#!/usr/bin/env bash
# Metrics check: runs examples/8-monitoring on the embedded broker with a
# slow counting callback, so that a backlog builds up, and reads its
# Prometheus metrics at /metrics until the counter's consumer lag is above
# zero and every other metric the library promises has a value. It prints
# the lines it checked, then reads the health probes: /healthz must answer
# 200 (a backlog is no reason to restart) and /readyz 503, naming a lagging
# partition of the counter (the example runs with -ready-lag below MIN_LAG).
# Then it stops the example with SIGTERM and expects a clean exit.
#
#   scripts/metrics-check.sh
#
# The example runs in a process group of its own and is stopped at the end,
# also on failure or Ctrl-C.
#
# Knobs (environment):
#   SLOW            time the counter's callback spends per click (250ms: the
#                   busiest partition gets about twice what it can count)
#   MIN_LAG         consumer lag that counts as a backlog (5)
#   READY_LAG       the example's -ready-lag: the lag /readyz tolerates
#                   (MIN_LAG - 1)
#   READY_TIMEOUT   seconds until every metric must have its value (40)
#   STOP_TIMEOUT    seconds the example may take to stop on SIGTERM (15)
set -euo pipefail
shopt -s inherit_errexit

SLOW="${SLOW:-250ms}"
MIN_LAG="${MIN_LAG:-5}"
READY_LAG="${READY_LAG:-$((MIN_LAG - 1))}"
READY_TIMEOUT="${READY_TIMEOUT:-40}"
STOP_TIMEOUT="${STOP_TIMEOUT:-15}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNTER='group="example-monitoring-counter"'

log() { printf 'metrics-check: %s\n' "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

started=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/metrics-check.XXXXXX")"
example_pid=""

cleanup() {
	if [[ -n "$example_pid" ]]; then
		stop_group "$example_pid" 10
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source-path=SCRIPTDIR source=lib/example-process.sh
source "$ROOT/scripts/lib/example-process.sh"

# series NAME [FILTER]: the samples of metric NAME (exactly that name, with
# or without labels) whose line contains FILTER, highest value first.
series() {
	local name=$1 filter=${2:-}
	awk -v name="$name" -v filter="$filter" '
		/^#/ { next }
		index($0, name "{") == 1 || index($0, name " ") == 1 {
			if (filter == "" || index($0, filter) > 0) print ($NF + 0) "\t" $0
		}' "$work/metrics.txt" | sort -t "$(printf '\t')" -k1,1 -g -r | cut -f 2-
}

# top NAME [FILTER]: the highest value of NAME, empty when it has no sample.
top() {
	series "$@" | head -n 1 | awk '{ print $NF }'
}

# above VALUE MIN: whether VALUE is a number greater than MIN.
above() {
	[[ -n "$1" ]] && awk -v v="$1" -v m="$2" 'BEGIN { exit !(v + 0 > m + 0) }'
}

# The metrics that must have a sample above 0, as NAME|FILTER: the text a
# line must contain, the counter's own series where the metric is per group.
POSITIVE=(
	"goka_processor_messages_consumed_total|$COUNTER"
	"goka_processor_callback_duration_seconds_count|$COUNTER"
	"goka_processor_callback_duration_seconds_sum|$COUNTER"
	"goka_processor_table_recovery_progress|$COUNTER"
	"goka_processor_rebalances_total|$COUNTER"
	"goka_processor_messages_emitted_total|$COUNTER"
	"goka_emitter_messages_emitted_total|"
	"goka_view_messages_consumed_total|"
	"go_goroutines|"
	"process_cpu_seconds_total|"
)

# missing prints what the last scrape lacks, one reason a line; nothing when
# every check passes.
missing() {
	above "$(top goka_processor_consumer_lag "$COUNTER")" $((MIN_LAG - 1)) ||
		echo "goka_processor_consumer_lag of the counter is not >= $MIN_LAG yet (highest: $(top goka_processor_consumer_lag "$COUNTER"))"
	local m
	for m in "${POSITIVE[@]}"; do
		above "$(top "${m%%|*}" "${m#*|}")" 0 || echo "${m%%|*} has no sample above 0 ${m#*|}"
	done
	# A restore of an empty table takes microseconds: present is enough.
	[[ -n "$(top goka_processor_table_recovery_duration_seconds "$COUNTER")" ]] ||
		echo "goka_processor_table_recovery_duration_seconds has no sample for the counter"
	[[ -n "$(series goka_processor_callback_duration_seconds_bucket "$COUNTER")" ]] ||
		echo "goka_processor_callback_duration_seconds has no buckets for the counter"
}

command -v go >/dev/null 2>&1 || die "go is not on PATH"
command -v curl >/dev/null 2>&1 || die "curl is not on PATH"

log "building examples/8-monitoring"
(cd "$ROOT" && go build -o "$work/8-monitoring" ./examples/8-monitoring) || die "building examples/8-monitoring failed"
built=$SECONDS

start_example "$work/8-monitoring" -addr 127.0.0.1:0 -slow "$SLOW" -ready-lag "$READY_LAG" -duration 10m
deadline=$((SECONDS + READY_TIMEOUT))
wait_for_output 'web UI at http://' "$READY_TIMEOUT" "printed no 'web UI at http://…/' line"
url="$(example_url)"
log "example up at $url (-slow $SLOW); reading ${url}metrics"

scrapes=0
while :; do
	kill -0 "$example_pid" 2>/dev/null || die "the example exited while being checked; its output:
$(tail -n 20 "$work/example.log")"
	scrapes=$((scrapes + 1))
	if curl -sf --max-time 5 -o "$work/metrics.txt" "${url}metrics"; then
		why="$(missing)"
		[[ -z "$why" ]] && break
	else
		why="GET ${url}metrics failed"
	fi
	((SECONDS < deadline)) || die "after $scrapes scrapes in ${READY_TIMEOUT}s:
$why"
	sleep 1
done
checked=$SECONDS

log "every metric has its value after $scrapes scrape(s); the lines checked:"
{
	series goka_processor_consumer_lag "$COUNTER"
	for m in "${POSITIVE[@]}" "goka_processor_table_recovery_duration_seconds|$COUNTER"; do
		series "${m%%|*}" "${m#*|}" | head -n 1
	done
} | sed 's/^/  /'
sum="$(top goka_processor_callback_duration_seconds_sum "$COUNTER")"
count="$(top goka_processor_callback_duration_seconds_count "$COUNTER")"
log "the counter's callbacks took $(awk -v s="$sum" -v c="$count" 'BEGIN { printf "%.0f", 1000 * s / c }') ms each on average (-slow $SLOW)"

# probe URL: GETs a health probe, its headers in $work/probe.headers and its
# body in $work/probe.json; prints the status code (000 when it failed).
probe() {
	curl -s --max-time 5 -D "$work/probe.headers" -o "$work/probe.json" -w '%{http_code}' "$1" || true
}

# The health probes: live in spite of the backlog, not ready because of it.
code="$(probe "${url}healthz")"
[[ "$code" == 200 ]] || die "GET ${url}healthz answered $code, not 200: $(cat "$work/probe.json")"
grep -q '^{"live":true,' "$work/probe.json" || die "/healthz says it is not live: $(cat "$work/probe.json")"
grep -qi '^cache-control: no-store' "$work/probe.headers" || die "/healthz has no Cache-Control: no-store"
LAGGING="processor example-monitoring-counter\",\"ready\":false,\"problems\":\[\"partition [0-9]+: input example-monitoring-clicks lags [0-9]+ messages \(limit $READY_LAG\)"
deadline=$((SECONDS + READY_TIMEOUT))
until code="$(probe "${url}readyz")" && [[ "$code" == 503 ]] && grep -Eq "$LAGGING" "$work/probe.json"; do
	((SECONDS < deadline)) || die "/readyz did not answer 503 for a lagging partition of the counter within ${READY_TIMEOUT}s; the last answer: $code $(cat "$work/probe.json")"
	sleep 1
done
grep -qi '^cache-control: no-store' "$work/probe.headers" || die "/readyz has no Cache-Control: no-store"
log "the probes: /healthz 200, /readyz 503 with $(grep -Eo '"partition [0-9]+: input example-monitoring-clicks lags [^"]*"' "$work/probe.json" | head -n 1)"
probed=$SECONDS

# A clean stop: the example must end by itself on SIGTERM, with status 0,
# within STOP_TIMEOUT seconds, and leave nothing in its process group.
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

log "PASS in $((SECONDS - started))s (build $((built - started))s, metrics $((checked - built))s, probes $((probed - checked))s, stop $((SECONDS - probed))s)"
