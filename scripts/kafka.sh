#!/usr/bin/env bash
# Runs throwaway Apache Kafka 4.x brokers for the system tests: a single node,
# or a cluster of three.
#
#   scripts/kafka.sh install   fetch Kafka's jars from Maven Central into a cache
#   scripts/kafka.sh start     configure, format and start a KRaft broker+controller
#   scripts/kafka.sh stop      stop it (SIGTERM, then SIGKILL after a deadline)
#   scripts/kafka.sh status    exit 0 while it runs
#   scripts/kafka.sh logs [-f] print (or follow) the broker's log
#
#   scripts/kafka.sh cluster-start        three KRaft nodes on 127.0.0.1, replication 3
#   scripts/kafka.sh cluster-stop         stop all three
#   scripts/kafka.sh cluster-status       one line per node; exit 0 while all three run
#   scripts/kafka.sh kill-broker N        SIGKILL node N (1-3) of the cluster
#   scripts/kafka.sh stop-broker N        stop node N cleanly (SIGTERM)
#   scripts/kafka.sh start-broker N       start node N again on its data
#   scripts/kafka.sh cluster-logs N [-f]  print (or follow) node N's log
#
# There is no Kafka distribution to download here, only Maven Central, so the
# broker is assembled from the kafka_2.13 artefact and its runtime dependencies,
# and the distribution's wrapper scripts are replaced by direct `java -cp` calls.
#
# Knobs (environment):
#   KAFKA_VERSION         Kafka release to run (default below)
#   KAFKA_PORT            client port on 127.0.0.1 (9092)
#   KAFKA_CONTROLLER_PORT KRaft controller port (KAFKA_PORT+1)
#   KAFKA_CACHE           jar cache, outside the repository (~/.cache/goka-kafka)
#   KAFKA_DATA            config, logs, pid file and log dirs (/tmp/goka-kafka)
#   KAFKA_KEEP_DATA=1     a start keeps the existing log dirs instead of wiping them
#   KAFKA_HEAP_OPTS       JVM heap flags (-Xms128m -Xmx512m)
#   KAFKA_START_TIMEOUT   seconds to wait for the broker to answer (60)
#   KAFKA_STOP_TIMEOUT    seconds to wait after SIGTERM before SIGKILL (30)
#   KAFKA_MAVEN_REPO      local Maven repository to use instead of ~/.m2/repository
#
# The cluster's knobs are described in scripts/lib/kafka-cluster.sh.
set -euo pipefail
shopt -s inherit_errexit

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_CACHE="${KAFKA_CACHE:-${HOME:-/root}/.cache/goka-kafka}"
KAFKA_DATA="${KAFKA_DATA:-/tmp/goka-kafka}"
KAFKA_KEEP_DATA="${KAFKA_KEEP_DATA:-0}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
LIBS="$KAFKA_CACHE/$KAFKA_VERSION/libs"
# Written last by install: its presence means the jar set is complete.
STAMP="$KAFKA_CACHE/$KAFKA_VERSION/.complete"
PID_FILE="$KAFKA_DATA/kafka.pid"
# Marks KAFKA_DATA as made by this script, so a start never wipes anything else.
DATA_MARKER=".goka-kafka-data"
LOG_DIR="$KAFKA_DATA/logs"
KRAFT_DIR="$KAFKA_DATA/kraft"
BROKER="127.0.0.1:$KAFKA_PORT"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

java_bin() {
	if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
		printf '%s\n' "$JAVA_HOME/bin/java"
	elif [[ -x "$(command -v java 2>/dev/null || true)" ]]; then
		command -v java
	else
		die "java not found: Kafka $KAFKA_VERSION needs Java 17 or later (set JAVA_HOME or put java on PATH)"
	fi
}

# run_java CLASS ARGS... runs one of Kafka's main classes on the cached jars.
run_java() {
	local java
	java="$(java_bin)" || exit 1
	"$java" -Xmx256m -Dlog4j2.configurationFile="$KAFKA_DATA/log4j2.properties" \
		-cp "$LIBS/*" "$@"
}

# ---------------------------------------------------------------------------
# install

write_pom() {
	local dir="$1"
	cat >"$dir/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.goka</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

# jar_version PREFIX prints the version of the one jar named PREFIX-<version>.jar.
jar_version() {
	local f
	for f in "$1"/"$2"-[0-9]*.jar; do
		[[ -e "$f" ]] || continue
		f="${f##*/}"
		f="${f#"$2"-}"
		printf '%s\n' "${f%.jar}"
		return 0
	done
	return 1
}

# mvn_quiet LOG ARGS... runs mvn with its output in LOG, shown only on failure.
mvn_quiet() {
	local out="$1"
	shift
	if ! mvn "$@" >"$out" 2>&1; then
		sed 's/\x1b\[[0-9;]*m//g' "$out" | tail -n 40 >&2
		return 1
	fi
}

cmd_install() {
	if [[ -f "$STAMP" ]]; then
		log "Kafka $KAFKA_VERSION already installed in $LIBS"
		return 0
	fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found: it fetches Kafka's jars from Maven Central"
	local tmp staging
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	staging="$tmp/libs"
	write_pom "$tmp"
	local mvn_args=(-q -B -Dstyle.color=never -f "$tmp/pom.xml")
	if [[ -n "${KAFKA_MAVEN_REPO:-}" ]]; then
		mvn_args+=("-Dmaven.repo.local=$KAFKA_MAVEN_REPO")
	fi
	log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies"
	mvn_quiet "$tmp/mvn.log" "${mvn_args[@]}" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$staging" ||
		die "mvn could not resolve Kafka $KAFKA_VERSION"
	[[ -n "$(jar_version "$staging" "kafka_2.13")" ]] ||
		die "kafka_2.13-$KAFKA_VERSION.jar missing after resolution"

	# The artefact's pom brings log4j-core and slf4j-api but no slf4j binding (the
	# distribution adds one), so Kafka's slf4j logging would go nowhere: add
	# the log4j2 binding that matches both the slf4j API and log4j's version.
	local log4j slf4j binding
	log4j="$(jar_version "$staging" log4j-api)" || die "log4j-api missing from Kafka's dependencies"
	slf4j="$(jar_version "$staging" slf4j-api)" || die "slf4j-api missing from Kafka's dependencies"
	if [[ "$slf4j" == 1.* ]]; then binding="log4j-slf4j-impl"; else binding="log4j-slf4j2-impl"; fi
	if ! jar_version "$staging" "$binding" >/dev/null; then
		log "adding $binding $log4j for slf4j $slf4j"
		mvn_quiet "$tmp/mvn.log" "${mvn_args[@]}" dependency:copy \
			-Dartifact="org.apache.logging.log4j:$binding:$log4j" -DoutputDirectory="$staging" ||
			die "mvn could not resolve org.apache.logging.log4j:$binding:$log4j"
	fi

	mkdir -p "$KAFKA_CACHE/$KAFKA_VERSION"
	rm -rf "$LIBS"
	mv "$staging" "$LIBS"
	touch "$STAMP"
	log "installed Kafka $KAFKA_VERSION ($(find "$LIBS" -name '*.jar' | wc -l) jars) in $LIBS"
}

# ---------------------------------------------------------------------------
# start / stop / status

# running_pid prints the broker's pid and succeeds when the pid file names a
# live Kafka process (a stale file or a recycled pid does not count).
running_pid() {
	local pid
	[[ -f "$PID_FILE" ]] || return 1
	pid="$(<"$PID_FILE")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	pid_is_kafka "$pid" || return 1
	printf '%s\n' "$pid"
}

# pid_is_kafka PID succeeds while PID is a live Kafka process. It reads the
# command line rather than asking kill -0, which also succeeds for a zombie
# that a parent which does not reap (a container's init) leaves behind.
pid_is_kafka() {
	# Not a pipe into grep -q: under pipefail, tr killed by SIGPIPE when grep
	# quits at its first match would make a live broker look dead.
	local cmdline
	cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" || return 1
	[[ "$cmdline" == *" kafka.Kafka "* ]]
}

# pid_gone PID succeeds once the process has fully exited. A JVM's main
# thread turns zombie while its other threads are still exiting and holding
# the ports, so a zombie counts as gone only when it has no thread left but
# itself.
pid_gone() {
	local state tasks
	state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 0
	[[ -z "$state" ]] && return 0
	[[ "$state" == Z ]] || return 1
	tasks=("/proc/$1/task"/*)
	((${#tasks[@]} <= 1))
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# claim_data makes sure KAFKA_DATA is ours to write and, unless KAFKA_KEEP_DATA=1,
# to wipe: it must be missing, empty, or carry the marker a start leaves.
claim_data() {
	local d
	d="$(realpath -m "$KAFKA_DATA")"
	case "$d" in
	/ | /tmp | /root | /home | /usr | /var | /etc | "$(realpath -m "${HOME:-/}")" | "$REPO_DIR")
		die "refusing to use KAFKA_DATA=$KAFKA_DATA"
		;;
	esac
	if [[ -d "$d" && ! -f "$d/$DATA_MARKER" && -n "$(ls -A "$d")" ]]; then
		die "KAFKA_DATA=$KAFKA_DATA holds files kafka.sh did not write; refusing to use it"
	fi
	if [[ "$KAFKA_KEEP_DATA" != 1 ]]; then
		rm -rf "$d"
	fi
	mkdir -p "$d"
	printf 'written by scripts/kafka.sh; wiped by its next start\n' >"$d/$DATA_MARKER"
}

write_config() {
	mkdir -p "$LOG_DIR" "$KRAFT_DIR"
	cat >"$KAFKA_DATA/server.properties" <<EOF
# Generated by scripts/kafka.sh: one node that is both broker and KRaft controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KRAFT_DIR

# Topics exist only when the code under test creates them.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1

# One node: every internal topic has a single replica, and fewer partitions
# than the defaults so the first group or transaction does not wait for 50.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests should not wait 3 s at every first join, and may use short sessions.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000

# Small segments and an eager cleaner so compaction is observable in a test.
log.segment.bytes=1048576
log.cleaner.backoff.ms=1000
log.retention.check.interval.ms=10000

# A test broker on a 2-core machine needs few threads.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
	write_log4j
}

# write_log4j writes the logging configuration of the node in KAFKA_DATA.
write_log4j() {
	cat >"$KAFKA_DATA/log4j2.properties" <<EOF
# Generated by scripts/kafka.sh: everything to one file, requests and state
# changes kept quiet.
status = warn
name = goka-kafka
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOG_DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

# new_cluster_id prints a fresh KRaft cluster id: 16 random bytes in
# unpadded URL-safe base64, as StorageTool random-uuid prints them, without
# the JVM start that costs seconds on a busy machine. Like Kafka's own ids,
# it never starts with '-', which a command line would take for a flag.
new_cluster_id() {
	local id
	while :; do
		id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
		[[ ${#id} == 22 && "$id" != -* ]] && break
	done
	printf '%s\n' "$id"
}

# format_storage [ID] formats KRAFT_DIR for the cluster ID (a new one when
# none is given), unless it is formatted already.
format_storage() {
	if [[ -f "$KRAFT_DIR/meta.properties" ]]; then
		log "reusing formatted log dir $KRAFT_DIR"
		return 0
	fi
	local id="${1:-}"
	[[ -n "$id" ]] || id="$(new_cluster_id)"
	run_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DATA/server.properties" \
		>>"$LOG_DIR/format.log" 2>&1 ||
		die "formatting $KRAFT_DIR failed, see $LOG_DIR/format.log"
	log "formatted $KRAFT_DIR (cluster id $id)"
}

build_probe() {
	command -v go >/dev/null 2>&1 || return 1
	mkdir -p "$KAFKA_DATA/bin"
	(cd "$REPO_DIR" && go build -o "$KAFKA_DATA/bin/kafkaprobe" ./scripts/kafkaprobe) >&2
}

# wait_ready polls until the broker answers a metadata request (or, without Go,
# accepts connections and has logged its start), the process dies, or the
# deadline passes; it fails after showing the end of the log.
wait_ready() {
	local pid="$1" probe="$2" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
	# Right after the fork the child is not yet java (its command line is
	# still the shell's), so only a process that is gone counts as dead.
	while ((SECONDS < deadline)); do
		if pid_gone "$pid"; then
			tail -n 30 "$LOG_DIR/server.log" "$LOG_DIR/stdout.log" >&2 2>/dev/null || true
			log "Kafka exited during startup"
			return 1
		fi
		if port_open "$KAFKA_PORT"; then
			if [[ -n "$probe" ]]; then
				"$probe" -brokers "$BROKER" -timeout 2s 2>/dev/null && return 0
			elif grep -q 'Kafka Server started' "$LOG_DIR/server.log" 2>/dev/null; then
				return 0
			fi
		fi
		sleep 0.2
	done
	tail -n 30 "$LOG_DIR/server.log" >&2 2>/dev/null || true
	log "Kafka did not answer on $BROKER within ${KAFKA_START_TIMEOUT}s"
	return 1
}

# launch HEAP_OPTS starts the node configured in KAFKA_DATA in the background,
# records its pid in PID_FILE and sets LAUNCHED_PID.
launch() {
	local java
	java="$(java_bin)" || exit 1
	# shellcheck disable=SC2086 # the heap options are several flags
	nohup "$java" $1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$KAFKA_DATA/log4j2.properties" \
		-Dkafka.logs.dir="$LOG_DIR" \
		-cp "$LIBS/*" kafka.Kafka "$KAFKA_DATA/server.properties" \
		</dev/null >>"$LOG_DIR/stdout.log" 2>&1 &
	LAUNCHED_PID=$!
	printf '%s\n' "$LAUNCHED_PID" >"$PID_FILE"
}

cmd_start() {
	local pid
	if pid="$(running_pid)"; then
		log "already running (pid $pid)"
		printf '%s\n' "$BROKER"
		return 0
	fi
	java_bin >/dev/null # fail before touching KAFKA_DATA
	[[ -f "$STAMP" ]] || cmd_install
	local port
	for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
		! port_open "$port" || die "port $port on 127.0.0.1 is taken by another process"
	done
	claim_data
	write_config
	format_storage

	local started=$SECONDS probe="" probed=0 attempt mark
	for attempt in 1 2 3; do
		mark="$(wc -l <"$LOG_DIR/server.log" 2>/dev/null || echo 0)"
		launch "$KAFKA_HEAP_OPTS"
		pid="$LAUNCHED_PID"
		log "started Kafka $KAFKA_VERSION (pid $pid), waiting for $BROKER"

		# The probe compiles while the JVM starts.
		if ((!probed)); then
			probed=1
			if build_probe; then
				probe="$KAFKA_DATA/bin/kafkaprobe"
			else
				log "no Go toolchain for the metadata probe: waiting for the port and the start log line"
			fi
		fi
		if wait_ready "$pid" "$probe"; then
			break
		fi
		# Leave no half-started broker behind to hold the ports.
		cmd_stop
		# A port inside the kernel's ephemeral range (32768-60999 by
		# default) can be the source port of some outgoing connection at
		# the moment the broker binds it, even the broker's own connection
		# to its controller; it is free again a moment later.
		if ((attempt < 3)) &&
			[[ "$(tail -n +"$((mark + 1))" "$LOG_DIR/server.log" 2>/dev/null)" == *"Address already in use"* ]]; then
			log "a port was in use when Kafka bound it ($KAFKA_PORT and $KAFKA_CONTROLLER_PORT against the ephemeral range $(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)); starting again"
			sleep 1
			continue
		fi
		die "Kafka did not start, see $LOG_DIR"
	done
	log "ready after $((SECONDS - started))s; logs in $LOG_DIR"
	printf '%s\n' "$BROKER"
}

cmd_stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PID_FILE"
		log "not running"
		return 0
	fi
	log "stopping Kafka (pid $pid)"
	stop_pid "$pid"
	rm -f "$PID_FILE"
	log "stopped"
}

# stop_pid PID sends SIGTERM, and SIGKILL if the process is still there after
# KAFKA_STOP_TIMEOUT, and returns once it is gone.
stop_pid() {
	local pid="$1"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
	while ! pid_gone "$pid" && ((SECONDS < deadline)); do
		sleep 0.2
	done
	if ! pid_gone "$pid"; then
		log "pid $pid still running after ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		while ! pid_gone "$pid"; do sleep 0.1; done
	fi
}

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		printf 'running pid=%s broker=%s data=%s\n' "$pid" "$BROKER" "$KAFKA_DATA"
		return 0
	fi
	printf 'not running\n'
	return 1
}

cmd_logs() {
	local f="$LOG_DIR/server.log"
	[[ -f "$f" ]] || die "no log at $f"
	if [[ "${1:-}" == "-f" ]]; then
		exec tail -n 100 -F "$f"
	fi
	tail -n "${KAFKA_LOG_LINES:-200}" "$f"
}

usage() {
	sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# shellcheck source=scripts/lib/kafka-cluster.sh
source "$SCRIPT_DIR/lib/kafka-cluster.sh"

main() {
	local cmd="${1:-}"
	shift || true
	case "$cmd" in
	install) cmd_install ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	logs) cmd_logs "$@" ;;
	cluster-start) cmd_cluster_start ;;
	cluster-stop) cmd_cluster_stop ;;
	cluster-status) cmd_cluster_status ;;
	kill-broker) cmd_kill_broker "$@" ;;
	stop-broker) cmd_stop_broker "$@" ;;
	start-broker) cmd_start_broker "$@" ;;
	cluster-logs) cmd_cluster_logs "$@" ;;
	*) usage ;;
	esac
}

main "$@"
