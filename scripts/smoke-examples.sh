#!/usr/bin/env bash
# Builds every example and runs each on the embedded Kafka broker, with a
# timeout, checking its output for the lines it promises.
#
#   scripts/smoke-examples.sh                          every example
#   scripts/smoke-examples.sh 2-clicks 9-defer-commit  only these
#
# An example passes when it exits 0 by itself within the timeout and its
# output (stdout and stderr) matches every pattern listed for it below. The
# examples are built with -race, so a data race fails the run too (exit 66).
# 4-tests is a test suite and runs with `go test -race`.
#
# Knobs (environment):
#   GO              the go command (go)
#   SMOKE_TIMEOUT   seconds each example may run (60)
#   SMOKE_KEEP=1    keep the binaries and logs, and print where they are
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
GO="${GO:-go}"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-60}"

work="$(mktemp -d "${TMPDIR:-/tmp}/smoke-examples.XXXXXX")"
if [[ "${SMOKE_KEEP:-}" == 1 ]]; then
	trap 'echo "binaries and logs kept in $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi

selected=("$@")
failures=()
began=$SECONDS

# wanted NAME: whether the example was asked for (all are, by default).
wanted() {
	[[ ${#selected[@]} == 0 ]] && return 0
	local s
	for s in "${selected[@]}"; do
		[[ "$s" == "$1" ]] && return 0
	done
	return 1
}

# fail LABEL LOG MESSAGE: records a failure and shows the end of the log.
fail() {
	local label=$1 log=$2 message=$3
	echo "FAIL $label: $message"
	if [[ -s "$log" ]]; then
		echo "---- the last lines of its output (SMOKE_KEEP=1 keeps the whole log):"
		tail -n 40 "$log" | sed 's/^/    /'
		echo "----"
	fi
	failures+=("$label: $message")
}

# smoke NAME 'ARGS' PATTERN...: runs examples/NAME with ARGS (split on
# spaces) and checks its output against every extended regular expression.
smoke() {
	local name=$1 args=$2
	shift 2
	local label="$name${args:+ $args}"
	wanted "$name" || return 0
	if [[ ! -d "examples/$name" ]]; then
		echo "SKIP $label: examples/$name does not exist yet"
		return 0
	fi
	local log="$work/$name${args:+_}${args// /_}.log" start=$SECONDS status=0
	# shellcheck disable=SC2086 # ARGS is split on purpose
	timeout --kill-after=10 "$SMOKE_TIMEOUT" "$work/bin/$name" $args >"$log" 2>&1 || status=$?
	local took=$((SECONDS - start))
	case $status in
	0) ;;
	124 | 137)
		fail "$label" "$log" "did not exit by itself within ${SMOKE_TIMEOUT}s"
		return 0
		;;
	66)
		fail "$label" "$log" "the race detector found a data race (exit 66)"
		return 0
		;;
	*)
		fail "$label" "$log" "exited with status $status"
		return 0
		;;
	esac
	local pattern
	for pattern in "$@"; do
		if ! grep -Eq -- "$pattern" "$log"; then
			fail "$label" "$log" "its output has no line matching /$pattern/"
			return 0
		fi
	done
	echo "ok   $label (${took}s): $(grep -Em1 -- "$1" "$log")"
}

echo "== building every example"
if ! "$GO" build ./examples/...; then
	echo "FAIL: go build ./examples/... failed"
	exit 1
fi
mkdir -p "$work/bin"
# One binary per example, named after its folder, with the race detector.
if ! "$GO" build -race -o "$work/bin/" ./examples/...; then
	echo "FAIL: go build -race ./examples/... failed"
	exit 1
fi
echo "built in $((SECONDS - began))s"

echo "== running the examples (timeout ${SMOKE_TIMEOUT}s each)"

smoke 1-simplest "-duration 5s" \
	'^\[proc\] key: [a-z]+ clicks: [0-9]+'

# The view's counts as the example's own HTTP server answers them, after
# its readiness probe answered 200.
smoke 2-clicks "-duration 5s" \
	'^GET http://127\.0\.0\.1:[0-9]+/user-0: 200 \{"clicks":[1-9][0-9]*' \
	'^GET http://127\.0\.0\.1:[0-9]+/readyz: 200 \{"ready":true,' \
	'^serving the click counts at http://127\.0\.0\.1:[0-9]+/'

# The scripted session: a blocked user's message dropped, a word replaced,
# the spammer caught by the detector, the feeds printed.
smoke 3-messaging "-demo" \
	'^demo finished$' \
	'^\[filter\] dropped mallory → bob' \
	'^  alice: carol, are you going to come too\?$' \
	'^\[detector\] spammer looks like a spammer' \
	'^\[filter\] dropped spammer → alice'

if wanted 4-tests; then
	log="$work/4-tests.log" start=$SECONDS
	if timeout --kill-after=10 "$SMOKE_TIMEOUT" "$GO" test -race -count=1 ./examples/4-tests >"$log" 2>&1; then
		echo "ok   4-tests ($((SECONDS - start))s): $(tail -n 1 "$log")"
	else
		fail "4-tests" "$log" "go test -race ./examples/4-tests failed"
	fi
fi

# Owned by the web UI work: the status line reads the totals from the view.
smoke 5-multiple "-duration 6s" \
	'^\[status\] partitions \[[0-9 ]+\]; view: [0-9]+ posts'

# The embedded broker sits behind a proxy the example cuts and restores.
smoke 6-reconnecting-view "-duration 8s" \
	'^states seen: .*Running → Connecting( → CatchUp)? → Running' \
	'cutting the view.s connection'

# Owned by the Redis storage work; it needs redis-server on PATH
# (scripts/redis.sh install).
smoke 7-redis "-duration 6s" \
	'\(after the stop\)$'

# Owned by the web UI work.
smoke 8-monitoring "-duration 6s" \
	'^\[status\] emitted [0-9]+ clicks; counted [1-9][0-9]* clicks'

# Every commit released: the restarted processor reads only the new messages.
smoke 9-defer-commit "" \
	'^run 2: forwarded 5 new messages, read 0 again$'
# No commit released: it reads the first run's messages again.
smoke 9-defer-commit "-no-commit" \
	'^run 2: forwarded 5 new messages, read 5 again$'

smoke 10-visit "-duration 5s" \
	'^reset: visited [1-9][0-9]* keys' \
	'^counts after reset: '

# The CHF order dead-lettered by v1 (the orders after it summed), replayed
# and summed by v2.
smoke 11-dead-letters "" \
	'^v1 totals: alice=15\.50 bob=8\.00 carol=5\.00 \(retried 2, dead-lettered 1\)$' \
	'^dead letter example-order-totals-dlq/0@0: key=carol value=\{"amount":2000,"currency":"CHF"\} error="no exchange rate for CHF" from example-orders/0@2 after 3 attempt\(s\)$' \
	'^replayed 1 dead letter\(s\) to example-orders$' \
	'^v2 totals: alice=15\.50 bob=8\.00 carol=26\.40 '

# A counter killed with SIGKILL mid-stream and restarted, once per mode: at
# least once may count some clicks twice; exactly once counts each once.
smoke 12-exactly-once "" \
	'^at-least-once: 3000 clicks sent, [0-9]+ counted after a SIGKILL and a restart' \
	'^exactly-once: +3000 clicks sent, 3000 counted after a SIGKILL and a restart \(0 twice\)$'

echo "== $((SECONDS - began))s in all"
if [[ ${#failures[@]} -gt 0 ]]; then
	echo "${#failures[@]} example run(s) failed:"
	printf '  %s\n' "${failures[@]}"
	exit 1
fi
echo "every example ran and printed what it promises"
