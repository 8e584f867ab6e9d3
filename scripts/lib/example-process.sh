# shellcheck shell=bash
# shellcheck disable=SC2154 # work is set by the sourcing script
# Running an example in the background for a check script: start it in its
# own process group, wait for a line of its output, read its URL, stop it.
# Sourced by browser-test.sh and metrics-check.sh, which define log, die,
# $work (a temporary directory) and $example_pid before they call these.

# stop_group sends TERM to a process group, then KILL after a grace period,
# and waits for its leader.
stop_group() {
	local pid=$1 grace=$2
	kill -TERM -- "-$pid" 2>/dev/null || return 0
	local deadline=$((SECONDS + grace))
	while kill -0 -- "-$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "process group $pid ignored SIGTERM for ${grace}s; killing it"
			kill -KILL -- "-$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null || true
}

# start_example BINARY ARGS...: runs the built example in a process group of
# its own, its output in $work/example.log; sets example_pid. The caller
# passes -duration as a backstop only: its trap stops the example sooner.
start_example() {
	setsid "$@" >"$work/example.log" 2>&1 &
	example_pid=$!
}

# wait_for_output REGEX TIMEOUT WHAT: waits until the example's output
# matches REGEX, failing when it exits first or TIMEOUT seconds pass.
wait_for_output() {
	local regex=$1 timeout=$2 what=$3
	local deadline=$((SECONDS + timeout))
	until grep -q -- "$regex" "$work/example.log"; do
		kill -0 "$example_pid" 2>/dev/null || die "the example exited early; its output:
$(cat "$work/example.log")"
		((SECONDS < deadline)) || die "the example $what within ${timeout}s; its output:
$(cat "$work/example.log")"
		sleep 0.2
	done
}

# example_url prints the base URL from the example's "web UI at" line.
example_url() {
	grep -o 'web UI at http://[^ ]*/' "$work/example.log" | head -n 1 | sed 's/^web UI at //'
}
