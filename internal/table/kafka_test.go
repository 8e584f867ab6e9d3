package table

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/internal/proxy"
	"github.com/seed-b2c684ed/goka/kafkatest"
	"github.com/seed-b2c684ed/goka/storage"
)

// clientOffsets is the Offsets of the integration test, as the root
// package's topic manager provides it.
type clientOffsets struct{ client sarama.Client }

func (o clientOffsets) GetOffset(topic string, partition int32, at int64) (int64, error) {
	return o.client.GetOffset(topic, partition, at)
}

// kafkaTable is a table topic on an embedded broker with a producer and
// a consumer for it.
type kafkaTable struct {
	cluster  *kafkatest.Cluster
	client   sarama.Client
	consumer sarama.Consumer
	producer sarama.SyncProducer
	topic    string
	// want is the table the produced records describe.
	want map[string]string
}

func newKafkaTable(t *testing.T, topic string) *kafkaTable {
	return newKafkaTableWith(t, topic, nil, nil)
}

// newKafkaTableWith starts the broker behind px when px is not nil (every
// client then goes through the proxy *px points to) and lets tweak change
// the client's configuration.
func newKafkaTableWith(t *testing.T, topic string, px **proxy.Proxy, tweak func(*sarama.Config)) *kafkaTable {
	var opts []kafkatest.Option
	var perr error
	if px != nil {
		opts = append(opts, kafkatest.WithAdvertisedAddr(func(listen string) string {
			*px, perr = proxy.New(listen)
			if perr != nil {
				return listen
			}
			return (*px).Addr()
		}))
	}
	cluster, err := kafkatest.NewCluster(opts...)
	if px != nil && *px != nil {
		// Registered first, so it runs after the cluster's Close.
		p := *px
		t.Cleanup(func() { assert.NoError(t, p.Close()) })
	}
	require.NoError(t, perr)
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	require.NoError(t, cluster.CreateTopic(topic, 4, map[string]string{"cleanup.policy": "compact"}))

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0 // the library's default, /work/notes/sarama-version.md
	cfg.Consumer.Return.Errors = true
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	if tweak != nil {
		tweak(cfg)
	}
	client, err := sarama.NewClient(cluster.Addrs(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, client.Close()) })
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, consumer.Close()) })
	producer, err := sarama.NewSyncProducerFromClient(client)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, producer.Close()) })
	return &kafkaTable{cluster: cluster, client: client, consumer: consumer, producer: producer, topic: topic, want: make(map[string]string)}
}

// produce writes n records to partition, over about n/4 keys so that most
// keys are written several times, with a tombstone every ninth record. It
// also writes some records to partition 0, which the test never reads.
func (k *kafkaTable) produce(t *testing.T, partition int32, n int, tag string) {
	msgs := make([]*sarama.ProducerMessage, 0, n)
	for i := range n {
		key := "key-" + strconv.Itoa((i*7919)%(n/4+1))
		msg := &sarama.ProducerMessage{Topic: k.topic, Partition: partition, Key: sarama.StringEncoder(key)}
		if i%9 == 8 {
			delete(k.want, key)
		} else {
			value := tag + "-" + strconv.Itoa(i)
			msg.Value = sarama.StringEncoder(value)
			k.want[key] = value
		}
		msgs = append(msgs, msg)
		if i%10 == 0 {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: k.topic, Partition: 0, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("other")})
		}
	}
	for len(msgs) > 0 {
		chunk := msgs[:min(len(msgs), 1000)]
		msgs = msgs[len(chunk):]
		require.NoError(t, k.producer.SendMessages(chunk))
	}
}

func (k *kafkaTable) partition(t *testing.T, partition int32, builder storage.Builder) *Partition {
	p := New(Config{
		Topic: k.topic, Partition: partition, Builder: builder,
		Consumer: k.consumer, Offsets: clientOffsets{k.client},
		Logf: t.Logf,
	})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestRecoverFromKafka(t *testing.T) {
	const partition = int32(2)
	k := newKafkaTable(t, "kafka-table")
	k.produce(t, partition, 10_000, "first")
	hwm, err := k.client.GetOffset(k.topic, partition, sarama.OffsetNewest)
	require.NoError(t, err)
	require.Equal(t, int64(10_000), hwm)
	dir := t.TempDir()
	ctx := context.Background()

	t.Log("recover into an empty LevelDB store")
	first := k.partition(t, partition, storage.DefaultBuilder(dir))
	require.NoError(t, first.Recover(ctx))
	assert.Equal(t, k.want, contents(t, first.Storage()))
	assert.Equal(t, int64(9_999), storedOffset(t, first.Storage()))
	assert.Equal(t, int64(10_000), first.Stats().Input.Count)
	require.NoError(t, first.Close())

	t.Log("restart on the same store: only the delta is read")
	k.produce(t, partition, 400, "second")
	again := k.partition(t, partition, storage.DefaultBuilder(dir))
	require.NoError(t, again.Recover(ctx))
	assert.Equal(t, int64(400), again.Stats().Input.Count)
	assert.Equal(t, k.want, contents(t, again.Storage()))
	assert.Equal(t, int64(10_399), storedOffset(t, again.Storage()))

	t.Log("follow: new records show up")
	followCtx, stopFollow := context.WithCancel(ctx)
	done := runAsync(func() error { return again.Follow(followCtx) })
	waitState(t, again, Running)
	k.produce(t, partition, 20, "third")
	require.Eventually(t, func() bool { return storedOffset(t, again.Storage()) == 10_419 }, waitTimeout, time.Millisecond)
	stopFollow()
	require.NoError(t, result(t, done))
	assert.Equal(t, k.want, contents(t, again.Storage()))
	require.NoError(t, again.Close())

	t.Log("a fresh store over the compacted topic gives the same table")
	k.cluster.Compact()
	fresh := k.partition(t, partition, storage.DefaultBuilder(t.TempDir()))
	require.NoError(t, fresh.Recover(ctx))
	assert.Equal(t, k.want, contents(t, fresh.Storage()))
	assert.Less(t, fresh.Stats().Input.Count, int64(10_420), "compaction removed records")
	assert.Equal(t, int64(10_419), storedOffset(t, fresh.Storage()))
	require.NoError(t, fresh.Close())

	t.Log("a store ahead of the topic is refused")
	ahead := storage.NewMemory()
	require.NoError(t, ahead.SetOffset(20_000))
	refused := k.partition(t, partition, func(string, int32) (storage.Storage, error) { return ahead, nil })
	require.ErrorIs(t, refused.Recover(ctx), ErrStoreAhead)
}

// transactionalProducer returns a producer that writes in transactions.
func transactionalProducer(t *testing.T, k *kafkaTable, id string) sarama.SyncProducer {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Transaction.ID = id
	cfg.Net.MaxOpenRequests = 1
	producer, err := sarama.NewSyncProducer(k.cluster.Addrs(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, producer.Close()) })
	return producer
}

// sendTxn writes n records to partition in one transaction, committed or
// aborted.
func sendTxn(t *testing.T, producer sarama.SyncProducer, topic string, partition int32, n int, tag string, commit bool) {
	require.NoError(t, producer.BeginTxn())
	for i := range n {
		_, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: partition,
			Key: sarama.StringEncoder("k" + strconv.Itoa(i%10)), Value: sarama.StringEncoder(tag + strconv.Itoa(i))})
		require.NoError(t, err)
	}
	if commit {
		require.NoError(t, producer.CommitTxn())
	} else {
		require.NoError(t, producer.AbortTxn())
	}
}

// TestRecoverFromTransactionalTopic recovers a partition whose last offset
// is a transaction marker, which no consumer receives: recovery ends once a
// fetch of the missing offsets shows that they hold only markers.
func TestRecoverFromTransactionalTopic(t *testing.T) {
	for _, tc := range []struct {
		name      string
		isolation sarama.IsolationLevel
		abortLast bool
		// wantLast is the offset of the last record the consumer gets.
		wantLast int64
		wantHwm  int64
	}{
		{name: "commit marker", wantLast: 49, wantHwm: 51},
		{name: "aborted transaction, read committed", isolation: sarama.ReadCommitted, abortLast: true, wantLast: 49, wantHwm: 57},
		{name: "aborted transaction, read uncommitted", abortLast: true, wantLast: 55, wantHwm: 57},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKafkaTableWith(t, "tx-table", nil, func(c *sarama.Config) { c.Consumer.IsolationLevel = tc.isolation })
			producer := transactionalProducer(t, k, "table-test")
			sendTxn(t, producer, k.topic, 1, 50, "c", true)
			if tc.abortLast {
				sendTxn(t, producer, k.topic, 1, 5, "a", false)
			}
			hwm, err := k.client.GetOffset(k.topic, 1, sarama.OffsetNewest)
			require.NoError(t, err)
			require.Equal(t, tc.wantHwm, hwm, "the records and the markers")

			var lines logLines
			p := New(Config{
				Topic: k.topic, Partition: 1, Builder: storage.MemoryBuilder(),
				Consumer: k.consumer, Offsets: clientOffsets{k.client},
				IdleTimeout: 200 * time.Millisecond, Logf: lines.logf,
				GapCheck: SaramaGapCheck(k.client),
			})
			defer func() { assert.NoError(t, p.Close()) }()

			require.NoError(t, p.Recover(context.Background()))

			assert.Equal(t, tc.wantLast, storedOffset(t, p.Storage()))
			assert.Len(t, contents(t, p.Storage()), 10)
			require.Len(t, lines.all(), 1, "%q", lines.all())
			assert.Contains(t, lines.all()[0], "transaction markers")
			assert.Contains(t, lines.all()[0], "offsets "+strconv.FormatInt(tc.wantLast+1, 10)+" to "+strconv.FormatInt(tc.wantHwm-1, 10)+" hold no data record")
		})
	}
}

// TestSaramaGapCheckSeesData: the check fetches and finds the records a
// consumer did not deliver, and that a gap of markers ends before them.
func TestSaramaGapCheckSeesData(t *testing.T) {
	k := newKafkaTable(t, "gap-table")
	producer := transactionalProducer(t, k, "gap-test")
	sendTxn(t, producer, k.topic, 1, 5, "c", true) // 0-4, marker 5
	sendTxn(t, producer, k.topic, 1, 5, "c", true) // 6-10, marker 11
	check := SaramaGapCheck(k.client)
	ctx := context.Background()
	for _, tc := range []struct {
		from, to int64
		noData   bool
	}{
		{5, 6, true}, {11, 12, true}, {5, 7, false}, {0, 12, false}, {10, 12, false},
	} {
		noData, err := check(ctx, k.topic, 1, tc.from, tc.to)
		if tc.noData {
			require.NoError(t, err, "offsets %d to %d", tc.from, tc.to-1)
		}
		assert.Equal(t, tc.noData, noData, "offsets %d to %d", tc.from, tc.to-1)
	}
	noData, err := check(ctx, k.topic, 1, 12, 20)
	assert.False(t, noData, "offsets beyond the log's end are no proof")
	assert.ErrorIs(t, err, errGapNotProven)
}

// TestRecoverThroughAStalledConnection: every connection to the broker
// stalls in the middle of a recovery for much longer than the idle timeout
// and than the client's read timeout; the recovery waits, stays Recovering,
// reports that it waits, and once the bytes flow again it ends with every
// key.
func TestRecoverThroughAStalledConnection(t *testing.T) {
	const partition = int32(2)
	var px *proxy.Proxy
	k := newKafkaTableWith(t, "stall-table", &px, func(c *sarama.Config) {
		// Small fetches, so the stall comes long before the end.
		c.Consumer.Fetch.Default = 4 << 10
		c.ChannelBufferSize = 16
		// The consumer gives up on a request in well under the stall,
		// and retries soon.
		c.Net.ReadTimeout = 300 * time.Millisecond
		c.Metadata.Retry.Backoff = 50 * time.Millisecond
		c.Consumer.Retry.Backoff = 50 * time.Millisecond
	})
	k.produce(t, partition, 5_000, "first")

	var lines logLines
	stalled := make(chan struct{})
	proceed := make(chan struct{})
	var once sync.Once
	p := New(Config{
		Topic: k.topic, Partition: partition, Builder: storage.MemoryBuilder(),
		Consumer: k.consumer, Offsets: clientOffsets{k.client},
		IdleTimeout: 100 * time.Millisecond, ProgressInterval: 150 * time.Millisecond,
		Logf: lines.logf, GapCheck: SaramaGapCheck(k.client),
		Update: func(st storage.Storage, rec *Record) error {
			if rec.Offset == 500 {
				// Stall the network while the consumer is mid-way.
				once.Do(func() { close(stalled); <-proceed })
			}
			if rec.Value == nil {
				return st.Delete(rec.Key)
			}
			return st.Set(rec.Key, rec.Value)
		},
	})
	defer func() { assert.NoError(t, p.Close()) }()
	done := runAsync(func() error { return p.Recover(context.Background()) })
	select {
	case <-stalled:
	case <-time.After(waitTimeout):
		t.Fatal("recovery did not reach offset 500")
	}
	px.Stall()
	close(proceed)

	// Several idle timeouts, gap checks and the consumer's read timeouts
	// worth of stall.
	waitRecovering(t, p, done, &lines, "a read timeout and 6 progress lines", func() bool {
		return len(linesContaining(&lines, "i/o timeout; the consumer retries")) >= 1 &&
			len(linesContaining(&lines, "still waiting", `topic "stall-table" partition 2`)) >= 6
	})
	assert.Less(t, p.Stats().Recovery.Offset, int64(4_999))
	px.Release()

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("recovery did not end after the release; log: %q", lines.all())
	}
	assert.Equal(t, k.want, contents(t, p.Storage()))
	assert.Equal(t, int64(4_999), storedOffset(t, p.Storage()))
	assert.Empty(t, linesContaining(&lines, "hold no data record"))
}
