package goka

import (
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeProducer records what an Emitter sends and leaves the promises for the
// test to finish.
type fakeProducer struct {
	mu     sync.Mutex
	sent   []fakeSend
	closed bool
	// onClose runs inside Close, to check the state Close is called in.
	onClose func()
}

type fakeSend struct {
	topic, key  string
	value       []byte
	headers     Headers
	withHeaders bool
	finish      PromiseFinisher
}

func (f *fakeProducer) Emit(topic, key string, value []byte) *Promise {
	return f.send(fakeSend{topic: topic, key: key, value: value})
}

func (f *fakeProducer) EmitWithHeaders(topic, key string, value []byte, headers Headers) *Promise {
	return f.send(fakeSend{topic: topic, key: key, value: value, headers: headers, withHeaders: true})
}

func (f *fakeProducer) send(s fakeSend) *Promise {
	p, finish := NewPromiseWithFinisher()
	s.finish = finish
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, s)
	return p
}

func (f *fakeProducer) Close() error {
	if f.onClose != nil {
		f.onClose()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeProducer) sends() []fakeSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSend(nil), f.sent...)
}

// builder returns a ProducerBuilder handing out f and recording its
// arguments.
func (f *fakeProducer) builder(clientID *string, hasher *func() hash.Hash32) ProducerBuilder {
	return func(brokers []string, id string, h func() hash.Hash32) (Producer, error) {
		if clientID != nil {
			*clientID = id
		}
		if hasher != nil {
			*hasher = h
		}
		return f, nil
	}
}

// failingCodec refuses to encode anything.
type failingCodec struct{ codec.String }

var errCannotEncode = errors.New("cannot encode")

func (*failingCodec) Encode(interface{}) ([]byte, error) { return nil, errCannotEncode }

func newFakeEmitter(t *testing.T, options ...EmitterOption) (*Emitter, *fakeProducer) {
	t.Helper()
	fake := &fakeProducer{}
	options = append([]EmitterOption{WithEmitterProducerBuilder(fake.builder(nil, nil))}, options...)
	e, err := NewEmitter([]string{"unused:9092"}, "events", new(codec.String), options...)
	require.NoError(t, err)
	return e, fake
}

func TestEmitterOptions(t *testing.T) {
	fake := &fakeProducer{}
	var clientID string
	var hasher func() hash.Hash32
	_, err := NewEmitter(nil, "events", new(codec.String), WithEmitterProducerBuilder(fake.builder(&clientID, &hasher)))
	require.NoError(t, err)
	assert.Equal(t, "goka-emitter-events", clientID)
	h := hasher()
	_, _ = h.Write([]byte("key1"))
	assert.Equal(t, uint32(0x374a6a67), h.Sum32(), "the default hasher is FNV-1a")

	custom := func() hash.Hash32 { return fixedHash(7) }
	_, err = NewEmitter(nil, "events", new(codec.String),
		WithEmitterProducerBuilder(fake.builder(&clientID, &hasher)),
		WithEmitterClientID("my-client"),
		WithEmitterHasher(custom),
	)
	require.NoError(t, err)
	assert.Equal(t, "my-client", clientID)
	assert.Equal(t, uint32(7), hasher().Sum32())

	rec := &recordingLogger{}
	var tmbCalled bool
	tmb := func([]string) (TopicManager, error) { tmbCalled = true; return nil, errors.New("unused") }
	opts := newEmitterOptions("events", new(codec.String), []EmitterOption{
		WithEmitterLogger(rec),
		WithEmitterTopicManagerBuilder(tmb),
		WithEmitterDefaultHeaders(Headers{"a": []byte("1")}),
	})
	opts.log.Print("x")
	assert.Equal(t, []string{"Print|x"}, rec.taken())
	_, _ = opts.builders.topicmgr(nil)
	assert.True(t, tmbCalled)
	assert.Equal(t, Headers{"a": []byte("1")}, opts.defaultHeaders)
}

func TestNewEmitterErrors(t *testing.T) {
	_, err := NewEmitter(nil, "", new(codec.String))
	assert.ErrorContains(t, err, "empty topic")
	_, err = NewEmitter(nil, "events", nil)
	assert.ErrorContains(t, err, "nil codec")

	errBuild := errors.New("no producer")
	_, err = NewEmitter(nil, "events", new(codec.String), WithEmitterProducerBuilder(
		func([]string, string, func() hash.Hash32) (Producer, error) { return nil, errBuild }))
	require.ErrorIs(t, err, errBuild)
	assert.ErrorContains(t, err, "events")
}

func TestEmitterHeaders(t *testing.T) {
	defaults := Headers{"a": []byte("default"), "b": []byte("default")}
	tests := []struct {
		name            string
		defaults, call  Headers
		wantWithHeaders bool
		want            Headers
	}{
		{name: "none", wantWithHeaders: false},
		{name: "call only", call: Headers{"a": []byte("call")}, wantWithHeaders: true, want: Headers{"a": []byte("call")}},
		{name: "defaults only", defaults: defaults, wantWithHeaders: true, want: defaults},
		{
			name: "call overrides defaults", defaults: defaults, call: Headers{"b": []byte("call"), "c": []byte("call")},
			wantWithHeaders: true, want: Headers{"a": []byte("default"), "b": []byte("call"), "c": []byte("call")},
		},
		{name: "empty call headers send none", call: Headers{}, wantWithHeaders: true, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, fake := newFakeEmitter(t, WithEmitterDefaultHeaders(tt.defaults))
			_, err := e.EmitWithHeaders("key", "value", tt.call)
			require.NoError(t, err)
			sent := fake.sends()
			require.Len(t, sent, 1)
			assert.Equal(t, tt.wantWithHeaders, sent[0].withHeaders)
			assert.Equal(t, tt.want, sent[0].headers)
			assert.Equal(t, "events", sent[0].topic)
			assert.Equal(t, "value", string(sent[0].value))
			sent[0].finish(nil, nil)
		})
	}
	// The defaults are not changed by a merge.
	assert.Equal(t, Headers{"a": []byte("default"), "b": []byte("default")}, defaults)
}

func TestEmitterTombstoneAndEncodeErrors(t *testing.T) {
	fake := &fakeProducer{}
	e, err := NewEmitter(nil, "events", &failingCodec{}, WithEmitterProducerBuilder(fake.builder(nil, nil)))
	require.NoError(t, err)

	_, err = e.Emit("deleted", nil)
	require.NoError(t, err, "a nil message is not passed to the codec")
	sent := fake.sends()
	require.Len(t, sent, 1)
	assert.Nil(t, sent[0].value)
	sent[0].finish(nil, nil)

	promise, err := e.Emit("the-key", "value")
	require.ErrorIs(t, err, errCannotEncode)
	assert.Nil(t, promise)
	assert.Contains(t, err.Error(), `"the-key"`)
	assert.Contains(t, err.Error(), "events")
	assert.Len(t, fake.sends(), 1, "nothing sent")
	require.ErrorIs(t, e.EmitSync("the-key", "value"), errCannotEncode)
	require.NoError(t, e.Finish(), "the failed encodes left nothing pending")
}

func TestEmitterFinishWaitsForPendingEmits(t *testing.T) {
	e, fake := newFakeEmitter(t)
	const n = 5
	promises := make([]*Promise, n)
	for i := range promises {
		var err error
		promises[i], err = e.Emit(fmt.Sprint(i), "v")
		require.NoError(t, err)
	}
	// finishing counts the promises the test has begun to finish: the last
	// one releases Finish while its callbacks still run, so a count kept in
	// a callback of the test would race with Close.
	var finishing, finishingAtClose atomic.Int32
	fake.onClose = func() { finishingAtClose.Store(finishing.Load()) }

	finished := make(chan error, 1)
	go func() { finished <- e.Finish() }()
	// Finish rejects new emits before it waits.
	require.Eventually(t, func() bool {
		e.mu.RLock()
		defer e.mu.RUnlock()
		return e.finishing
	}, kafkaWait, time.Millisecond)
	late, err := e.Emit("late", "v")
	require.NoError(t, err)
	_, err = waitPromise(t, late)
	require.ErrorIs(t, err, ErrEmitterAlreadyClosed)

	for _, s := range fake.sends() {
		finishing.Add(1)
		s.finish(nil, nil)
	}
	select {
	case err := <-finished:
		require.NoError(t, err)
	case <-time.After(kafkaWait):
		t.Fatal("Finish did not return after the pending emits finished")
	}
	assert.Equal(t, int32(n), finishingAtClose.Load(), "the producer was closed before every emit finished")
	for _, p := range promises {
		_, err := waitPromise(t, p)
		require.NoError(t, err)
	}
	assert.True(t, fake.closed)
	assert.Len(t, fake.sends(), n, "nothing sent after Finish")
}

func TestEmitterAfterFinish(t *testing.T) {
	e, fake := newFakeEmitter(t)
	require.NoError(t, e.Finish())
	require.NoError(t, e.Finish(), "a second Finish returns nil")

	p, err := e.Emit("key", "v")
	require.NoError(t, err, "goka reports a closed emitter through the promise")
	_, perr := waitPromise(t, p)
	require.ErrorIs(t, perr, ErrEmitterAlreadyClosed)
	require.ErrorIs(t, e.EmitSync("key", "v"), ErrEmitterAlreadyClosed)
	require.ErrorIs(t, e.EmitSyncWithHeaders("key", "v", Headers{"h": nil}), ErrEmitterAlreadyClosed)
	assert.Empty(t, fake.sends())
}

func TestEmitterAgainstBroker(t *testing.T) {
	const topic, partitions = "events", 10
	cluster := newKafkaCluster(t, partitions, topic)
	e, err := NewEmitter(cluster.Addrs(), topic, new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(fastProducerConfig())),
		WithEmitterDefaultHeaders(Headers{"origin": []byte("test")}),
	)
	require.NoError(t, err)

	want := make(map[string]string) // key -> value, "" for a tombstone
	for i := range 50 {
		key := fmt.Sprintf("key-%d", i)
		require.NoError(t, e.EmitSync(key, "sync"))
		want[key] = "sync"
	}
	var promises []*Promise
	for i := range 50 {
		key := fmt.Sprintf("async-%d", i)
		p, err := e.EmitWithHeaders(key, "async", Headers{"n": []byte(fmt.Sprint(i))})
		require.NoError(t, err)
		promises = append(promises, p)
		want[key] = "async"
	}
	require.NoError(t, e.EmitSync("deleted", nil))
	want["deleted"] = ""
	for _, p := range promises {
		_, err := waitPromise(t, p)
		require.NoError(t, err)
	}
	require.NoError(t, e.Finish())

	got := make(map[string]string)
	for partition := int32(0); partition < partitions; partition++ {
		for _, rec := range readPartition(t, cluster.Addrs(), topic, partition) {
			key := string(rec.Key)
			wantPartition, err := hashPartition(DefaultHasher(), key, partitions)
			require.NoError(t, err)
			require.Equal(t, wantPartition, partition, "key %q is not where readers look for it", key)

			headers := HeadersFromSarama(rec.Headers)
			assert.Equal(t, "test", string(headers["origin"]), "key %q", key)
			switch {
			case key == "deleted":
				assert.Nil(t, rec.Value)
			case want[key] == "async":
				assert.Contains(t, headers, "n")
			}
			got[key] = string(rec.Value)
		}
	}
	assert.Equal(t, want, got)
}

func TestEmitterSurfacesProducerErrors(t *testing.T) {
	cluster := newKafkaCluster(t, 1, "exists")
	e, err := NewEmitter(cluster.Addrs(), "missing", new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(failFastProducerConfig())))
	require.NoError(t, err, "the emitter does not check its topic")

	done := make(chan error, 1)
	go func() { done <- e.EmitSync("key", "value") }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	case <-time.After(kafkaWait):
		t.Fatal("EmitSync to a missing topic hangs")
	}
	require.NoError(t, e.Finish())
}

func TestEmitterFinishFlushesPendingEmits(t *testing.T) {
	const topic = "events"
	cluster := newKafkaCluster(t, 3, topic)
	e, err := NewEmitter(cluster.Addrs(), topic, new(codec.String))
	require.NoError(t, err)

	const n = 500
	var mu sync.Mutex
	var settled int
	for i := range n {
		p, err := e.Emit(fmt.Sprint(i), "v")
		require.NoError(t, err)
		p.Then(func(err error) {
			assert.NoError(t, err)
			mu.Lock()
			settled++
			mu.Unlock()
		})
	}
	require.NoError(t, e.Finish())
	mu.Lock()
	assert.Equal(t, n, settled, "every emit was acknowledged when Finish returned")
	mu.Unlock()

	var records int
	for partition := int32(0); partition < 3; partition++ {
		records += len(readPartition(t, cluster.Addrs(), topic, partition))
	}
	assert.Equal(t, n, records)
}

func TestEmitterEmitConcurrentWithFinish(t *testing.T) {
	const topic = "events"
	cluster := newKafkaCluster(t, 2, topic)
	e, err := NewEmitter(cluster.Addrs(), topic, new(codec.String),
		WithEmitterProducerBuilder(ProducerBuilderWithConfig(fastProducerConfig())))
	require.NoError(t, err)

	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		emitted         int
		settled, closed int
		other           []error
	)
	start := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			<-start
			for i := range 200 {
				p, err := e.Emit(fmt.Sprintf("%d-%d", g, i), "v")
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				emitted++
				mu.Unlock()
				p.Then(func(err error) {
					mu.Lock()
					defer mu.Unlock()
					settled++
					switch {
					case errors.Is(err, ErrEmitterAlreadyClosed):
						closed++
					case err != nil:
						other = append(other, err)
					}
				})
			}
		})
	}
	close(start)
	// Finish while the emits are in full swing.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return emitted >= 100
	}, kafkaWait, time.Millisecond)
	require.NoError(t, e.Finish())
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, emitted, settled)
	assert.Empty(t, other)
	assert.Less(t, closed, emitted, "some emits came before Finish")
	t.Logf("%d of %d emits came after Finish", closed, emitted)
}
