// Package systemtest holds the system tests: the library against a real Apache
// Kafka broker, where the embedded kafkatest broker cannot stand in (the real
// broker's protocol floor, its compaction, its group coordinator timing), and
// under the faults production sees.
//
// The tests find the broker through KAFKA_BROKERS, a comma-separated list of
// addresses, and the three-broker cluster of the TestCluster scenarios through
// KAFKA_CLUSTER_BROKERS. `make systemtest` installs Kafka 4.x with
// scripts/kafka.sh, starts a single node, runs the other tests against it and
// stops it, then starts the cluster (`kafka.sh cluster-start`: three KRaft
// nodes, each broker and controller, default.replication.factor=3,
// min.insync.replicas=2, no unclean leader election), runs the TestCluster
// scenarios and stops it. Without either variable every test is skipped with
// a message saying so, unless REQUIRE_KAFKA=1 (set in CI), which turns the
// skip into a failure: a CI run must never pass because the broker was
// missing.
//
// # Scenarios
//
// Each scenario has a verifier that recomputes the expected count of every
// key from the sends Kafka acknowledged, and reads the counts back through a
// View of the group table once the processors have stopped:
//
//   - scale out and in: 1, 3, then 1 counter processes (cmd/counter, separate
//     OS processes) under a continuous keyed load; every message counted
//     exactly once across clean handovers;
//   - SIGKILL of a process mid-stream and a restart on its stores, three
//     times: nothing lost, the duplicates at-least-once allows are reported;
//   - exactly once (cmd/counter -exactly-once, goka.WithExactlyOnce), the
//     counts read through a read_committed view: the scale 1->3->1 and the
//     SIGKILL scenarios count every message exactly once (0 counted twice);
//     a process paused with SIGSTOP until the other took its partitions over
//     is fenced when resumed (its Run fails with goka.ErrFenced) and nothing
//     it wrote since its last commit is visible;
//   - static membership (WithGroupInstanceID): three counter processes
//     restarted one after the other on their stores within the session
//     timeout, stopped (SIGTERM) or killed (SIGKILL): the other two have no
//     new session and keep their partitions (their rebalance metric, which
//     cmd/counter reports), the restarted one gets its own back, and the
//     counts stay exact (at least once when killed); the same restarts of
//     dynamic members rebalance the others (the control); a static member
//     stopped for good keeps its partitions idle until the session timeout
//     has passed, then the others take them over;
//   - cooperative rebalancing (WithCooperativeRebalancing): the counter
//     scaled from two processes to three and back to two under a keyed load,
//     once eagerly and once cooperatively, with the scenarios' heartbeat
//     (300 ms) and with sarama's default (3 s); each partition's longest
//     pause in processing through each change is read from the timestamps of
//     its group table's records (the table kept from compaction): under the
//     cooperative protocol the partitions that stay on their instance pause
//     no longer than the quiet noise (at most 1 s), the summary gives every
//     partition's pause, moved and stayed, in both protocols, and the counts
//     stay exact;
//   - ten +1 messages over five graceful restarts: the sum is exactly 10;
//   - every connection cut through a fault-injecting proxy: Run returns an
//     error within seconds, a view with auto-reconnect keeps serving and
//     catches up, EmitSync reports failures and loses nothing it acknowledged;
//   - the broker stopped and started again by scripts/kafka.sh on its data;
//   - the group table's cleanup policy and partition count, and refusal of a
//     mis-configured one;
//   - recovery from a kept store reads only the table's delta;
//   - local stores outlive consumer group sessions (processors in the test
//     process): two WithRecoverAhead instances on one partition both hold
//     the table's and the join's rows, and the one ahead takes over applying
//     only the row written since; a WithHotStandby instance keeps the
//     group table and the join of the partition it does not hold warm and
//     takes it over writing no row, and an active partition turned standby
//     keeps its store and reads only the other's writes; ten joins and
//     leaves under load, on LevelDB: a partition that never moved restores
//     nothing, one that comes back reads only what the other wrote, the
//     counts stay exact; with hot standby on both, every partition is built
//     once and no table record is read twice;
//   - an instance the group assigns no partition is Running, recovered and
//     ready, plain, with hot standby and with recover-ahead (its warm store
//     caught up);
//   - a callback blocked past WithPartitionStopTimeout across a rebalance:
//     the rebalance goes on, the partition's store is left dirty (logged),
//     the counts in the table topic stay exact whether the partition moves,
//     stays or is kept warm by hot standby, and the partitions beside it run
//     on meanwhile; the same at shutdown: the store is left dirty, Run says
//     it waits for the late callback and returns once it has, and a restart
//     counts exactly;
//   - on the cluster, with the library's default producer configuration:
//     the broker leading most partitions of the group table, then of the
//     input, killed with SIGKILL four times under a keyed load, started again
//     and waited for until it is back in every ISR; the counts hold every
//     acknowledged send, and the table topic's history holds every sum the
//     processors built on (no acknowledged table write lost);
//   - on the cluster, EmitSync from four goroutines while the topic's leader
//     is killed twice: errors are allowed, every send reported as made is in
//     the topic.
//
// The broker announces its own address, so the proxy cannot be put in front
// of it by address alone; the clients of the cut scenario reach it through
// sarama's Net.Proxy dialer, which sends every connection to the proxy.
//
// # Helpers
//
// Brokers, CheckEnvironment, NewConfig and UniqueName find the broker and
// name what a test creates. FastConfig, TopicManagerConfig and the
// ProcessorOptions, ViewOptions and EmitterOptions built from them give the
// scenario clients short timeouts, so that a killed member, a cut connection
// or a stopped broker shows within seconds. CounterGraph is the processor
// the scenarios run, in the test process and in cmd/counter.
package systemtest
