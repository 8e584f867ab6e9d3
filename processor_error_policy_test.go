package goka

import (
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of the error policies run one scenario on the embedded broker: a
// single-partition input "in" holding "0".."8" under key "k", with the
// poison message "bad" at offset 4 in place of "4". Every callback counts
// the key in the group table and emits its value to "out" before it fails,
// so a failed attempt that left anything behind shows in the counts.

const (
	poisonOffset = 4
	poisonTotal  = 9
)

// poisonMode is how the poison message fails.
type poisonMode string

const (
	failByFail   poisonMode = "Fail"
	failByPanic  poisonMode = "panic"
	failByDecode poisonMode = "undecodable"
)

// flakyCodec is the String codec that cannot decode "bad" when undecodable.
type flakyCodec struct {
	codec.String
	undecodable bool
}

func (c *flakyCodec) Decode(data []byte) (interface{}, error) {
	if c.undecodable && string(data) == "bad" {
		return nil, errors.New("cannot decode bad")
	}
	return c.String.Decode(data)
}

// poisonCall is one callback call: the message's offset and the count of
// the key it read.
type poisonCall struct {
	offset int64
	read   int64
}

// poisonScenario is the processor of the scenario with what its callback saw.
type poisonScenario struct {
	env   *procEnv
	group string
	reg   *prometheus.Registry
	proc  *Processor
	// failures is how many attempts of the poison message fail; -1: all.
	failures int

	mu    sync.Mutex
	calls []poisonCall
}

// newPoisonScenario fills "in" and builds the processor with opts.
func newPoisonScenario(t *testing.T, group string, mode poisonMode, failures int, opts ...ProcessorOption) *poisonScenario {
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.createTopic("out", 1)
	em := env.emitter("in", new(codec.String))
	for i := 0; i < poisonTotal; i++ {
		value, headers := strconv.Itoa(i), Headers(nil)
		if i == poisonOffset {
			value, headers = "bad", Headers{"trace": []byte("abc")}
		}
		require.NoError(t, em.EmitSyncWithHeaders("k", value, headers))
	}
	require.NoError(t, em.Finish())

	s := &poisonScenario{env: env, group: group, reg: prometheus.NewRegistry(), failures: failures}
	gg := DefineGroup(Group(group),
		Input("in", &flakyCodec{undecodable: mode == failByDecode}, func(ctx Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			s.mu.Lock()
			s.calls = append(s.calls, poisonCall{offset: ctx.Offset(), read: n})
			attempt := 0
			for _, c := range s.calls {
				if c.offset == ctx.Offset() {
					attempt++
				}
			}
			s.mu.Unlock()
			ctx.SetValue(n + 1)
			ctx.Emit("out", ctx.Key(), msg)
			if msg.(string) == "bad" && (s.failures < 0 || attempt <= s.failures) {
				if mode == failByPanic {
					panic(fmt.Sprintf("kaboom at attempt %d", attempt))
				}
				ctx.Fail(fmt.Errorf("attempt %d: %w", attempt, errBoom))
			}
		}),
		Output("out", new(codec.String)),
		Persist(new(codec.Int64)),
	)
	s.proc = env.processor(gg, storage.MemoryBuilder(), append([]ProcessorOption{WithMetrics(s.reg)}, opts...)...)
	return s
}

// offsets are the offsets of the callback calls, in order.
func (s *poisonScenario) offsets() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var offsets []int64
	for _, c := range s.calls {
		offsets = append(offsets, c.offset)
	}
	return offsets
}

// reads are the counts the calls of offset read.
func (s *poisonScenario) reads(offset int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var reads []int64
	for _, c := range s.calls {
		if c.offset == offset {
			reads = append(reads, c.read)
		}
	}
	return reads
}

// waitCommitted waits until the group committed every message of "in".
func (s *poisonScenario) waitCommitted(t *testing.T) {
	t.Helper()
	eventually(t, "every offset of in committed", func() bool { return s.env.committedSoFar(s.group, "in", 0) == poisonTotal })
}

// committedSoFar is committed that reads -1 while the group does not exist
// yet, for polling.
func (e *procEnv) committedSoFar(group, topic string, partition int32) int64 {
	e.t.Helper()
	admin, err := sarama.NewClusterAdmin(e.brokers, e.config)
	require.NoError(e.t, err)
	defer func() { require.NoError(e.t, admin.Close()) }()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {partition}})
	if err != nil {
		return -1
	}
	block := resp.GetBlock(topic, partition)
	if block == nil || block.Err != sarama.ErrNoError {
		return -1
	}
	return block.Offset
}

// outValues are the values emitted to "out", in order.
func (s *poisonScenario) outValues(t *testing.T) []string {
	var values []string
	for _, r := range readPartition(t, s.env.brokers, "out", 0) {
		values = append(values, string(r.Value))
	}
	return values
}

// metric is the value of a counter of the input "in".
func (s *poisonScenario) metric(t *testing.T, name string) float64 {
	v, _ := sampleSum(t, s.reg, name, map[string]string{"group": s.group, "topic": "in", "partition": "0"})
	return v
}

// inputStats are the stats of "in" in partition 0.
func (s *poisonScenario) inputStats(t *testing.T) *InputStats {
	pp, ok := s.proc.Stats().Group[0]
	require.True(t, ok)
	in, ok := pp.Input["in"]
	require.True(t, ok)
	return in
}

// offsetsWithout are 0..poisonTotal-1, the poison offset repeated n times
// in its place.
func offsetsWith(n int) []int64 {
	var offsets []int64
	for i := int64(0); i < poisonTotal; i++ {
		if i != poisonOffset {
			offsets = append(offsets, i)
			continue
		}
		for j := 0; j < n; j++ {
			offsets = append(offsets, i)
		}
	}
	return offsets
}

// valuesWithout are the values of "in" without the poison message.
func valuesWithout() []string {
	var values []string
	for i := 0; i < poisonTotal; i++ {
		if i != poisonOffset {
			values = append(values, strconv.Itoa(i))
		}
	}
	return values
}

// TestErrorPolicySkip: a message that fails, by Fail, panic or decoding, is
// skipped in its place: the messages around it are processed once each and
// in order, nothing of it reaches the table or the output, every offset is
// committed, and the skip is counted in the metric and the stats.
func TestErrorPolicySkip(t *testing.T) {
	t.Parallel()
	for _, mode := range []poisonMode{failByFail, failByPanic, failByDecode} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := newPoisonScenario(t, "skip", mode, -1, WithErrorPolicy(SkipOnError()))
			r := s.env.start(s.proc)
			s.waitCommitted(t)

			calls := 1
			if mode == failByDecode {
				calls = 0
			}
			assert.Equal(t, offsetsWith(calls), s.offsets())
			assert.True(t, hasCounts(s.proc, map[string]int64{"k": poisonTotal - 1}))
			assert.Equal(t, valuesWithout(), s.outValues(t))
			assert.Equal(t, 1.0, s.metric(t, "goka_processor_messages_skipped_total"))
			assert.Equal(t, uint(1), s.inputStats(t).Skipped)
			require.NoError(t, r.stop(t))
		})
	}
}

// TestErrorPolicyDeadLetter: a failed message is written to <group>-dlq,
// created by NewProcessor, with its key, value and headers and the headers
// that say why; the messages around it are processed in order and every
// offset is committed.
func TestErrorPolicyDeadLetter(t *testing.T) {
	t.Parallel()
	for _, mode := range []poisonMode{failByFail, failByDecode} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := newPoisonScenario(t, "dead", mode, -1, WithErrorPolicy(DeadLetterOnError()))
			assert.Equal(t, int64(0), s.env.newestOffset("dead-dlq", 0), "NewProcessor created the dead-letter topic")
			before := time.Now()
			r := s.env.start(s.proc)
			s.waitCommitted(t)

			calls := 1
			if mode == failByDecode {
				calls = 0
			}
			assert.Equal(t, offsetsWith(calls), s.offsets())
			assert.True(t, hasCounts(s.proc, map[string]int64{"k": poisonTotal - 1}))
			assert.Equal(t, valuesWithout(), s.outValues(t))
			assert.Equal(t, 1.0, s.metric(t, "goka_processor_messages_dead_lettered_total"))
			assert.Equal(t, uint(1), s.inputStats(t).DeadLettered)

			letters := readPartition(t, s.env.brokers, "dead-dlq", 0)
			require.Len(t, letters, 1)
			dl := letters[0]
			assert.Equal(t, "k", string(dl.Key))
			assert.Equal(t, "bad", string(dl.Value))
			h := letterHeaders(dl.Headers)
			assert.Equal(t, "abc", h["trace"], "the original headers are kept")
			assert.Equal(t, "in", h[DeadLetterHeaderTopic])
			assert.Equal(t, "0", h[DeadLetterHeaderPartition])
			assert.Equal(t, strconv.Itoa(poisonOffset), h[DeadLetterHeaderOffset])
			assert.Equal(t, "dead", h[DeadLetterHeaderGroup])
			assert.Equal(t, "1", h[DeadLetterHeaderAttempts])
			if mode == failByDecode {
				assert.Contains(t, h[DeadLetterHeaderError], "cannot decode bad")
			} else {
				assert.Contains(t, h[DeadLetterHeaderError], "attempt 1: boom")
			}
			at, err := time.Parse(time.RFC3339Nano, h[DeadLetterHeaderTime])
			require.NoError(t, err)
			assert.WithinRange(t, at, before.Add(-time.Second), time.Now())
			require.NoError(t, r.stop(t))
		})
	}
}

func letterHeaders(rhs []*sarama.RecordHeader) map[string]string {
	h := make(map[string]string, len(rhs))
	for _, rh := range rhs {
		h[string(rh.Key)] = string(rh.Value)
	}
	return h
}

// refusingProducer refuses every message to one topic, as Kafka refuses a
// write to a topic the producer may not write.
type refusingProducer struct {
	Producer
	topic string
}

var errRefused = errors.New("refused by the test")

func (p refusingProducer) EmitWithHeaders(topic, key string, value []byte, headers Headers) *Promise {
	if topic == p.topic {
		promise, finish := NewPromiseWithFinisher()
		finish(nil, errRefused)
		return promise
	}
	return p.Producer.EmitWithHeaders(topic, key, value, headers)
}

// TestErrorPolicyDeadLetterRefused: a dead letter Kafka refuses stops the
// processor with the message uncommitted, although the messages after it
// were processed: the commit never passes a message whose dead letter is
// not acknowledged.
func TestErrorPolicyDeadLetterRefused(t *testing.T) {
	t.Parallel()
	var env *procEnv
	refusing := func(brokers []string, clientID string, hasher func() hash.Hash32) (Producer, error) {
		p, err := ProducerBuilderWithConfig(env.config)(brokers, clientID, hasher)
		if err != nil {
			return nil, err
		}
		return refusingProducer{Producer: p, topic: "refused-dlq"}, nil
	}
	s := newPoisonScenario(t, "refused", failByFail, -1, WithErrorPolicy(DeadLetterOnError()), WithProducerBuilder(refusing))
	env = s.env
	err := env.start(s.proc).wait(t)
	var me *MessageError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, int64(poisonOffset), me.Offset)
	assert.ErrorIs(t, err, errRefused)
	assert.Contains(t, err.Error(), "refused-dlq")
	assert.Equal(t, int64(poisonOffset), env.committed("refused", "in", 0))
}

// TestErrorPolicyRetry: a message whose first two attempts fail and whose
// third succeeds leaves exactly one attempt's effects, each attempt read the
// row as the messages before it left it, and the messages after it wait
// for it.
func TestErrorPolicyRetry(t *testing.T) {
	t.Parallel()
	for _, mode := range []poisonMode{failByFail, failByPanic} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := newPoisonScenario(t, "retry", mode, 2, WithErrorPolicy(RetryOnError(3, 5*time.Millisecond, StopOnError())))
			r := s.env.start(s.proc)
			s.waitCommitted(t)

			assert.Equal(t, offsetsWith(3), s.offsets())
			assert.Equal(t, []int64{poisonOffset, poisonOffset, poisonOffset}, s.reads(poisonOffset))
			assert.True(t, hasCounts(s.proc, map[string]int64{"k": poisonTotal}))
			want := valuesWithout()
			want = append(want[:poisonOffset], append([]string{"bad"}, want[poisonOffset:]...)...)
			assert.Equal(t, want, s.outValues(t))
			assert.Equal(t, 2.0, s.metric(t, "goka_processor_message_retries_total"))
			assert.Equal(t, uint(2), s.inputStats(t).Retried)
			require.NoError(t, r.stop(t))
		})
	}
}

// TestErrorPolicyRetryExhausted: once every attempt failed, the policy after
// the retries decides: skip, dead-letter (the attempts in the header) or
// stop.
func TestErrorPolicyRetryExhausted(t *testing.T) {
	t.Parallel()
	t.Run("skip", func(t *testing.T) {
		t.Parallel()
		s := newPoisonScenario(t, "exhausted", failByFail, -1, WithErrorPolicy(RetryOnError(2, time.Millisecond, SkipOnError())))
		r := s.env.start(s.proc)
		s.waitCommitted(t)
		assert.Equal(t, offsetsWith(2), s.offsets())
		assert.True(t, hasCounts(s.proc, map[string]int64{"k": poisonTotal - 1}))
		assert.Equal(t, valuesWithout(), s.outValues(t))
		assert.Equal(t, 1.0, s.metric(t, "goka_processor_messages_skipped_total"))
		assert.Equal(t, 1.0, s.metric(t, "goka_processor_message_retries_total"))
		require.NoError(t, r.stop(t))
	})
	t.Run("dead-letter", func(t *testing.T) {
		t.Parallel()
		s := newPoisonScenario(t, "exhausted", failByPanic, -1,
			WithErrorPolicy(RetryOnError(2, time.Millisecond, RetryOnError(1, time.Millisecond, DeadLetterOnErrorTo("poison")))))
		r := s.env.start(s.proc)
		s.waitCommitted(t)
		assert.Equal(t, offsetsWith(3), s.offsets(), "the nested policy's attempt is a retry")
		letters := readPartition(t, s.env.brokers, "poison", 0)
		require.Len(t, letters, 1)
		h := letterHeaders(letters[0].Headers)
		assert.Equal(t, "3", h[DeadLetterHeaderAttempts])
		assert.Contains(t, h[DeadLetterHeaderError], "kaboom at attempt 3")
		require.NoError(t, r.stop(t))
	})
	t.Run("stop", func(t *testing.T) {
		t.Parallel()
		s := newPoisonScenario(t, "exhausted", failByFail, -1, WithErrorPolicy(RetryOnError(2, time.Millisecond, StopOnError())))
		err := s.env.start(s.proc).wait(t)
		var me *MessageError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, int64(poisonOffset), me.Offset)
		assert.Contains(t, err.Error(), "attempt 2: boom")
		assert.Equal(t, offsetsWith(2)[:poisonOffset+2], s.offsets())
		assert.Equal(t, int64(poisonOffset), s.env.committed("exhausted", "in", 0))
	})
}

// TestErrorPolicyRetryWaitEndsAtStop: a retry waiting for its backoff does
// not hold up the processor's stop; the message stays uncommitted.
func TestErrorPolicyRetryWaitEndsAtStop(t *testing.T) {
	t.Parallel()
	s := newPoisonScenario(t, "patient", failByFail, -1, WithErrorPolicy(RetryOnError(3, time.Hour, SkipOnError())))
	r := s.env.start(s.proc)
	eventually(t, "the poison message's first attempt", func() bool { return len(s.offsets()) == poisonOffset+1 })
	begin := time.Now()
	require.NoError(t, r.stop(t))
	assert.Less(t, time.Since(begin), 10*time.Second)
	assert.Equal(t, offsetsWith(1)[:poisonOffset+1], s.offsets())
	assert.Equal(t, int64(poisonOffset), s.env.committed("patient", "in", 0))
}

// TestErrorPolicyPerInput: WithInputErrorPolicy overrides WithErrorPolicy
// for its input only.
func TestErrorPolicyPerInput(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("a", 1)
	env.createTopic("b", 1)
	for _, topic := range []Stream{"a", "b"} {
		for _, v := range []string{"1", "bad", "2"} {
			env.emitSync(topic, new(codec.String), "k", v)
		}
	}
	var mu sync.Mutex
	var seen []string
	cb := func(ctx Context, msg interface{}) {
		if msg.(string) == "bad" {
			ctx.Fail(errBoom)
		}
		mu.Lock()
		seen = append(seen, string(ctx.Topic())+msg.(string))
		mu.Unlock()
	}
	gg := DefineGroup("mixed", Input("a", new(codec.String), cb), Input("b", new(codec.String), cb))
	reg := prometheus.NewRegistry()
	proc := env.processor(gg, storage.MemoryBuilder(), WithMetrics(reg),
		WithErrorPolicy(SkipOnError()), WithInputErrorPolicy("b", DeadLetterOnError()))
	r := env.start(proc)
	eventually(t, "both inputs committed", func() bool {
		return env.committedSoFar("mixed", "a", 0) == 3 && env.committedSoFar("mixed", "b", 0) == 3
	})
	mu.Lock()
	assert.ElementsMatch(t, []string{"a1", "a2", "b1", "b2"}, seen)
	mu.Unlock()
	skipped, _ := sampleSum(t, reg, "goka_processor_messages_skipped_total", map[string]string{"topic": "a"})
	assert.Equal(t, 1.0, skipped)
	letters := readPartition(t, env.brokers, "mixed-dlq", 0)
	require.Len(t, letters, 1)
	assert.Equal(t, "b", letterHeaders(letters[0].Headers)[DeadLetterHeaderTopic])
	require.NoError(t, r.stop(t))
}

// TestErrorPolicyOptionsChecked: NewProcessor refuses a policy it cannot
// run, before it reaches Kafka.
func TestErrorPolicyOptionsChecked(t *testing.T) {
	t.Parallel()
	gg := DefineGroup("checked", Input("in", new(codec.String), func(Context, interface{}) {}),
		Lookup("looked", new(codec.String)))
	for _, tt := range []struct {
		name   string
		option ProcessorOption
		want   string
	}{
		{"not an input", WithInputErrorPolicy("other", SkipOnError()), "other is not an input stream"},
		{"no attempt", WithErrorPolicy(RetryOnError(0, time.Second, SkipOnError())), "0 attempts"},
		{"negative backoff", WithErrorPolicy(RetryOnError(2, -time.Second, SkipOnError())), "negative backoff"},
		{"empty topic", WithErrorPolicy(DeadLetterOnErrorTo("")), "empty topic"},
		{"dead letters to an input", WithInputErrorPolicy("in", DeadLetterOnErrorTo("in")), "dead-letter topic in is a topic of the group"},
		{"dead letters to a lookup", WithErrorPolicy(RetryOnError(2, 0, DeadLetterOnErrorTo("looked"))), "dead-letter topic looked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewProcessor(nil, gg, tt.option)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestErrorPolicyBackoffDoubles: the waits of RetryOnError double up to a
// minute; a nested RetryOnError starts from its own backoff.
func TestErrorPolicyBackoffDoubles(t *testing.T) {
	t.Parallel()
	ep := RetryOnError(4, 20*time.Second, RetryOnError(2, time.Second, SkipOnError())).compile("g")
	require.Equal(t, 5, ep.Retries)
	var waits []time.Duration
	for i := 1; i <= ep.Retries; i++ {
		waits = append(waits, ep.Backoff(i))
	}
	assert.Equal(t, []time.Duration{20 * time.Second, 40 * time.Second, time.Minute, time.Second, 2 * time.Second}, waits)
	assert.Equal(t, "retry 3 times from 20s, then retry 3 times from 1s, then skip", RetryOnError(4, 20*time.Second, RetryOnError(3, time.Second, SkipOnError())).String())
	assert.Equal(t, StopOnError(), ErrorPolicy{}, "stop is the zero value, the default")
	assert.Equal(t, "checked-dlq", DeadLetterOnError().compile("checked").DeadLetterTopic)
}

// TestErrorPolicyDropsLateWritesOfAFailedAttempt: a goroutine started by a
// callback that failed, writing and calling Fail once the partition moved
// on, changes nothing: the message stays skipped, the write is dropped.
func TestErrorPolicyDropsLateWritesOfAFailedAttempt(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	env.createTopic("out", 1)
	for _, v := range []string{"1", "bad", "2", "3"} {
		env.emitSync("in", new(codec.String), "k", v)
	}
	movedOn := make(chan struct{})
	lateDone := make(chan struct{})
	gg := DefineGroup("late",
		Input("in", new(codec.String), func(ctx Context, msg interface{}) {
			switch msg.(string) {
			case "bad":
				go func() {
					defer close(lateDone)
					<-movedOn
					ctx.Emit("out", "late", "late")
					ctx.Fail(errBoom)
				}()
				ctx.Fail(errBoom)
			case "2":
				close(movedOn)
				<-lateDone
			}
			ctx.Emit("out", ctx.Key(), msg)
		}),
		Output("out", new(codec.String)),
	)
	proc := env.processor(gg, storage.MemoryBuilder(), WithErrorPolicy(SkipOnError()))
	r := env.start(proc)
	eventually(t, "every offset committed", func() bool { return env.committedSoFar("late", "in", 0) == 4 })
	var values []string
	for _, rec := range readPartition(t, env.brokers, "out", 0) {
		values = append(values, string(rec.Value))
	}
	assert.Equal(t, []string{"1", "2", "3"}, values)
	require.NoError(t, r.stop(t))
}

// TestErrorPolicyFailureAtStopLeavesMessage: a callback that fails because
// the partition stops (its Context ended) is not skipped: the message stays
// uncommitted for the next owner, which may well succeed.
func TestErrorPolicyFailureAtStopLeavesMessage(t *testing.T) {
	t.Parallel()
	env := newProcEnv(t)
	env.createTopic("in", 1)
	for _, v := range []string{"1", "slow", "2"} {
		env.emitSync("in", new(codec.String), "k", v)
	}
	blocked := make(chan struct{})
	gg := DefineGroup("stopping", Input("in", new(codec.String), func(ctx Context, msg interface{}) {
		if msg.(string) == "slow" {
			close(blocked)
			<-ctx.Context().Done()
			ctx.Fail(ctx.Context().Err())
		}
	}))
	reg := prometheus.NewRegistry()
	proc := env.processor(gg, storage.MemoryBuilder(), WithMetrics(reg), WithErrorPolicy(SkipOnError()))
	r := env.start(proc)
	receive(t, blocked)
	require.NoError(t, r.stop(t))
	assert.Equal(t, int64(1), env.committed("stopping", "in", 0))
	skipped, _ := sampleSum(t, reg, "goka_processor_messages_skipped_total", map[string]string{"topic": "in"})
	assert.Zero(t, skipped)
}
