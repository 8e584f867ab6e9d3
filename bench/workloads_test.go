package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// tinySizes keep every workload to a fraction of a second under -race.
func tinySizes() sizes {
	return sizes{
		EmitN: 300, EmitSyncN: 3, ProcN: 400, Keys: 20, Partitions: 3, ValueSize: 10,
		RecN: 600, RecKeys: 50, ViewKeys: 100, ViewG: 2, ViewDur: dur(60 * time.Millisecond),
		TesterN: 30, Rec1MN: 300, Rec1MValue: 100,
		FreshDur: dur(150 * time.Millisecond), FreshWin: dur(100 * time.Millisecond), LatDur: dur(150 * time.Millisecond),
		ManyParts: 4, ManyN: 200,
	}
}

// TestWorkloadsRunAndCleanUp runs every workload once against an embedded
// broker, in this process, and checks that each produced figures, that
// nothing was left running and that the temp dirs are gone.
func TestWorkloadsRunAndCleanUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload")
	}
	defer verifyNoLeaks(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cluster, err := kafkatest.NewCluster()
	require.NoError(t, err)
	defer cluster.Close()

	opts := &options{only: allWorkloads, runID: "test", runs: 2, flush: 5 * time.Millisecond, timeout: 2 * time.Minute, sizes: tinySizes()}
	var out strings.Builder
	opts.brokers = cluster.Addrs()
	require.NoError(t, runChild(context.Background(), opts, &out))

	var rows []result
	require.NoError(t, json.Unmarshal([]byte(out.String()), &rows))
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
		assert.Empty(t, r.Err, r.Name)
		assert.Positive(t, r.Rate, r.Name)
		assert.Positive(t, r.Mem.Peak, r.Name)
		assert.NotContains(t, r.Note, "CHECK FAILED", r.Name)
		for _, b := range r.Baselines {
			assert.Positive(t, b.Rate, r.Name+" vs "+b.Name)
			assert.Positive(t, b.Ratio, r.Name+" vs "+b.Name)
		}
	}
	assert.Equal(t, []string{
		"emitter", "emitter-sync", "processor", "recovery-processor", "recovery-view",
		"view-reads", "tester", "recovery-1m-processor", "recovery-1m-view",
		"durability-processor", "durability-emitter", "durability-emitter-sync",
		"durability-processor-local", "durability-emitter-local", "durability-emitter-sync-local",
		"view-freshness-100", "view-freshness-100-recovery", "view-freshness-10k", "view-freshness-10k-recovery",
		"processor-latency", "many-partitions",
		"processor-exactly-once-10ms", "processor-exactly-once-100ms", "processor-exactly-once-1s",
		"processor-latency-exactly-once",
	}, names)
	// Every raw client of these rows ran twice, with sarama's defaults and
	// with the library's configuration, and the first baseline, which the
	// target ratios refer to, is the faster of the two.
	paired := map[string]int{"emitter": 1, "emitter-sync": 1, "processor": 2, "recovery-processor": 1, "recovery-view": 1, "recovery-1m-processor": 1, "recovery-1m-view": 1, "many-partitions": 1}
	for _, r := range rows {
		pairs := 0
		for i := 0; i < len(r.Baselines); i++ {
			b := r.Baselines[i]
			first, second := withDefaults, withLibrary
			if strings.HasSuffix(b.Name, withLibrary) {
				first, second = withLibrary, withDefaults
			} else if !strings.HasSuffix(b.Name, withDefaults) {
				continue
			}
			require.Greater(t, len(r.Baselines), i+1, r.Name)
			other := r.Baselines[i+1]
			assert.Equal(t, strings.TrimSuffix(b.Name, first)+second, other.Name, r.Name)
			assert.GreaterOrEqual(t, b.Rate, other.Rate, r.Name+": the faster run comes first")
			pairs++
			i++
		}
		assert.Equal(t, paired[r.Name], pairs, r.Name)
	}
	for _, r := range rows {
		if r.Name == "emitter-sync" {
			require.NotNil(t, r.Latency)
			assert.Equal(t, 3, r.Latency.N)
			require.NotNil(t, r.Baselines[0].Latency)
		}
		// The paced rows give percentiles of pooled samples, the library's
		// and the baseline's, and say whether the target was met.
		if strings.HasPrefix(r.Name, "view-freshness-") || r.Name == "processor-latency" {
			require.NotNil(t, r.Latency, r.Name)
			require.Len(t, r.Baselines, 1, r.Name)
			require.NotNil(t, r.Baselines[0].Latency, r.Name)
			for _, l := range []*latency{r.Latency, r.Baselines[0].Latency} {
				assert.Positive(t, l.N, r.Name)
				assert.LessOrEqual(t, l.P50, l.P99, r.Name)
				assert.LessOrEqual(t, l.P99, l.Max, r.Name)
			}
			assert.Regexp(t, `p99 .*: target < 20ms (met|MISSED)`, r.Note, r.Name)
		}
	}

	left, err := filepath.Glob(filepath.Join(tmp, "goka-bench-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temp dirs left behind")
	admin, err := sarama.NewClusterAdmin(cluster.Addrs(), goka.DefaultConfig())
	require.NoError(t, err)
	defer admin.Close()
	topics, err := admin.ListTopics()
	require.NoError(t, err)
	for topic := range topics {
		assert.NotContains(t, topic, "bench-test-", "topic left behind")
	}
}

func TestRunParentInProcessWritesJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a workload")
	}
	path := filepath.Join(t.TempDir(), "r.json")
	opts := &options{only: []string{"tester"}, runs: 1, timeout: time.Minute, sizes: tinySizes(), jsonPath: path}
	var out strings.Builder
	require.NoError(t, runParent(context.Background(), opts, &out))
	assert.Contains(t, out.String(), "tester ")
	assert.Contains(t, out.String(), "-fork=false")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep report
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, "embedded", rep.Broker)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, "tester", rep.Results[0].Name)
}

func TestPartitionOfAgreesWithTheProducer(t *testing.T) {
	partitioner := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("t")
	for i := range 2000 {
		key := keyOf(i)
		want, err := partitioner.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, 7)
		require.NoError(t, err)
		require.Equal(t, want, partitionOf(key, 7), key)
	}
}

func TestKeyOfSortsByIndex(t *testing.T) {
	assert.Equal(t, "key-00000000", keyOf(0))
	assert.Equal(t, "key-00001234", keyOf(1234))
	assert.Less(t, keyOf(99), keyOf(100))
}

// verifyNoLeaks fails t if goroutines are left once they had 10 s to end:
// a closed goleveldb store keeps one for up to a second, longer than
// goleak waits by default.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	// go-metrics, which sarama uses, starts one ticker for the life of the
	// process with the first meter.
	ignore := goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick")
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := goleak.Find(ignore)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Error(err)
			return
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}
