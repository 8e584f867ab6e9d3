package goka

import (
	"fmt"
	"hash"
	"hash/fnv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
)

func TestViewOptionDefaults(t *testing.T) {
	o := new(voptions)
	require.NoError(t, o.applyOptions("users", new(codec.String)))
	assert.Equal(t, "goka-view-users", o.clientID)
	assert.Equal(t, defaultBackoffResetTime, o.backoffResetTime)
	assert.False(t, o.autoreconnect)
	assert.NotNil(t, o.updateCallback)
	assert.NotNil(t, o.hasher)
	assert.NotNil(t, o.log)
	assert.NotNil(t, o.builders.storage)
	assert.NotNil(t, o.builders.consumerSarama)
	assert.NotNil(t, o.builders.topicmgr)
	assert.NotNil(t, o.builders.backoff)
}

func TestViewOptionsApply(t *testing.T) {
	var hasherUsed, storageUsed, consumerUsed, tmUsed, backoffUsed, callbackUsed bool
	hasher := func() hash.Hash32 { hasherUsed = true; return fnv.New32() }
	sb := func(string, int32) (storage.Storage, error) { storageUsed = true; return storage.NewMemory(), nil }
	cb := func(brokers []string, clientID string) (sarama.Consumer, error) { consumerUsed = true; return nil, nil }
	tmb := func([]string) (TopicManager, error) { tmUsed = true; return nil, nil }
	bb := func() (Backoff, error) { backoffUsed = true; return nil, nil }
	update := func(UpdateContext, storage.Storage, string, []byte) error { callbackUsed = true; return nil }

	o := new(voptions)
	require.NoError(t, o.applyOptions("users", new(codec.String),
		WithViewClientID("my-client"),
		WithViewHasher(hasher),
		WithViewStorageBuilder(sb),
		WithViewConsumerSaramaBuilder(cb),
		WithViewTopicManagerBuilder(tmb),
		WithViewBackoffBuilder(bb),
		WithViewBackoffResetTimeout(time.Second),
		WithViewCallback(update),
		WithViewAutoReconnect(),
	))
	assert.Equal(t, "my-client", o.clientID)
	assert.Equal(t, time.Second, o.backoffResetTime)
	assert.True(t, o.autoreconnect)
	assert.False(t, o.deprecatedRestartable)
	o.hasher()
	_, _ = o.builders.storage("users", 0)
	_, _ = o.builders.consumerSarama(nil, "")
	_, _ = o.builders.topicmgr(nil)
	_, _ = o.builders.backoff()
	_ = o.updateCallback(nil, nil, "", nil)
	assert.True(t, hasherUsed && storageUsed && consumerUsed && tmUsed && backoffUsed && callbackUsed)
}

// capturedLog is a Logger that keeps what it is given.
type capturedLog struct {
	mu  sync.Mutex
	all []string
}

func (l *capturedLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
}
func (l *capturedLog) Print(v ...interface{})                 { l.add(fmt.Sprint(v...)) }
func (l *capturedLog) Println(v ...interface{})               { l.add(fmt.Sprintln(v...)) }
func (l *capturedLog) Printf(format string, v ...interface{}) { l.add(fmt.Sprintf(format, v...)) }
func (l *capturedLog) contains(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.all {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestWithViewRestartableIsDeprecatedAutoReconnect(t *testing.T) {
	e := newViewEnv(t, false)
	e.createTable("table", 1)
	log := new(capturedLog)
	// The logger comes after the deprecated option and still gets the
	// warning.
	v, err := NewView(e.brokers, "table", new(codec.String), append(e.options(), WithViewRestartable(), WithViewLogger(log))...)
	require.NoError(t, err)
	assert.True(t, v.opts.autoreconnect)
	assert.True(t, log.contains("WithViewRestartable is deprecated"))
}

// countingBackoff records how it is used.
type countingBackoff struct {
	mu               sync.Mutex
	durations, reset int
}

func (b *countingBackoff) Duration() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.durations++
	return 20 * time.Millisecond
}

func (b *countingBackoff) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reset++
}

func (b *countingBackoff) counts() (durations, resets int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.durations, b.reset
}

// TestViewBackoffResetTimeout checks that the backoff starts over only when
// the failed attempt had run for the reset timeout.
func TestViewBackoffResetTimeout(t *testing.T) {
	e := newViewEnv(t, true)
	e.createTable("table", 1)
	quick, slow := new(countingBackoff), new(countingBackoff)
	resetsAlways := e.run(e.newView("table", WithViewAutoReconnect(),
		WithViewBackoffBuilder(func() (Backoff, error) { return quick, nil }),
		WithViewBackoffResetTimeout(time.Nanosecond)))
	resetsNever := e.run(e.newView("table", WithViewAutoReconnect(),
		WithViewBackoffBuilder(func() (Backoff, error) { return slow, nil })))
	resetsAlways.recovered(t)
	resetsNever.recovered(t)

	e.proxy.Cut()
	eventually(t, "both views to retry twice", func() bool {
		q, _ := quick.counts()
		s, _ := slow.counts()
		return q >= 2 && s >= 2
	})
	_, quickResets := quick.counts()
	_, slowResets := slow.counts()
	assert.Positive(t, quickResets, "every attempt outlasted a nanosecond")
	assert.Zero(t, slowResets, "no attempt lasted the default minute")
	e.proxy.Restore()
}
