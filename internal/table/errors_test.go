package table

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed-b2c684ed/goka/storage"
)

func TestRecoverRefusesStoreAhead(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stored, hwm int64
	}{
		{name: "topic recreated empty", stored: 0, hwm: 0},
		{name: "topic recreated shorter", stored: 41, hwm: 7},
		{name: "store exactly at hwm", stored: 7, hwm: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newFakeLog(testTopic, testPartition)
			log.skip(tc.hwm)
			st := storage.NewMemory()
			require.NoError(t, st.SetOffset(tc.stored))
			p := newPartition(t, log, st)

			err := p.Recover(context.Background())

			require.ErrorIs(t, err, ErrStoreAhead)
			assert.False(t, Retriable(err))
			msg := err.Error()
			assert.Contains(t, msg, `"tbl"`)
			assert.Contains(t, msg, "partition 3")
			assert.Contains(t, msg, "offset "+strconv.FormatInt(tc.stored, 10))
			assert.Contains(t, msg, "high-water mark is "+strconv.FormatInt(tc.hwm, 10))
			assert.Contains(t, msg, "delete the local store")
			assert.Empty(t, log.startOffsets())
			assert.Equal(t, Connecting, p.Signal().State())

			err = p.Follow(context.Background())
			require.ErrorIs(t, err, ErrStoreAhead)
		})
	}
}

func TestUpdateContractViolationsAreRefused(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	st := storage.NewMemory()
	p := newPartition(t, log, st, func(c *Config) {
		c.Update = func(s storage.Storage, rec *Record) error {
			if err := s.Close(); err == nil {
				return errors.New("close allowed")
			}
			return s.SetOffset(100)
		}
	})

	err := p.Recover(context.Background())

	var uerr *UpdateError
	require.ErrorAs(t, err, &uerr)
	assert.ErrorIs(t, err, errOwnedByPartition)
	assert.Equal(t, int64(noOffset), storedOffset(t, st))
}

func TestFailedBatchDoesNotAdvanceTheOffset(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 100
	for i := range 30 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	st := storage.NewMemory()
	rec := &batchRecorder{Storage: st, failAt: 2}
	p := newPartition(t, log, rec, func(c *Config) { c.MaxBatchRecords = 10 })

	err := p.Recover(context.Background())

	require.ErrorIs(t, err, errBatchFailed)
	assert.Contains(t, err.Error(), `topic "tbl" partition 3 offset 19`)
	assert.False(t, Retriable(err))
	assert.Equal(t, int64(9), storedOffset(t, st), "the offset of the last batch written")
	assert.Len(t, contents(t, st), 10, "nothing of the failed batch")
	assert.Equal(t, Connecting, p.Signal().State())

	// A second attempt continues after the last batch written.
	rec.failAt = 0
	require.NoError(t, p.Recover(context.Background()))
	assert.Equal(t, []int64{0, 10}, log.startOffsets())
	assert.Len(t, contents(t, st), 30)
}

func TestUpdateErrorNamesTheRecord(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.buffer = 100
	for i := range 20 {
		log.addString("k"+strconv.Itoa(i), "v")
	}
	st := storage.NewMemory()
	boom := errors.New("boom")
	p := newPartition(t, log, st, func(c *Config) {
		c.MaxBatchRecords = 5
		c.Update = func(s storage.Storage, rec *Record) error {
			if rec.Offset == 12 {
				return boom
			}
			return s.Set(rec.Key, rec.Value)
		}
	})

	err := p.Recover(context.Background())

	var uerr *UpdateError
	require.ErrorAs(t, err, &uerr)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, UpdateError{Topic: testTopic, Partition: testPartition, Offset: 12, Key: "k12", Err: boom}, *uerr)
	assert.Equal(t, `table: topic "tbl" partition 3 offset 12 key "k12": update: boom`, err.Error())
	assert.False(t, Retriable(err))
	assert.Equal(t, int64(9), storedOffset(t, st))
	assert.Len(t, contents(t, st), 10)
}

func TestConsumerErrorEndsRecover(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	log.skip(5) // the rest never comes
	st := storage.NewMemory()
	p := newPartition(t, log, st, func(c *Config) { c.IdleTimeout = time.Hour })

	done := runAsync(func() error { return p.Recover(context.Background()) })
	waitState(t, p, Recovering)
	require.Eventually(t, func() bool { return storedOffset(t, st) == 0 }, waitTimeout, time.Millisecond)
	log.fail(sarama.ErrNotLeaderForPartition)
	err := result(t, done)

	var kerr *KafkaError
	require.ErrorAs(t, err, &kerr)
	assert.Equal(t, "consume", kerr.Op)
	assert.Equal(t, int64(1), kerr.Offset)
	assert.ErrorIs(t, err, sarama.ErrNotLeaderForPartition)
	assert.True(t, Retriable(err))
	assert.Contains(t, err.Error(), `topic "tbl" partition 3 offset 1`)
	assert.Equal(t, Connecting, p.Signal().State())
	assert.Zero(t, log.openConsumers())
	v, err := p.Storage().Get("a")
	require.NoError(t, err, "the store stays open")
	assert.Equal(t, "1", string(v))
}

func TestKafkaErrorsBeforeConsuming(t *testing.T) {
	broken := errors.New("no broker")
	for _, tc := range []struct {
		name string
		set  func(*fakeLog)
		op   string
	}{
		{name: "offsets", set: func(l *fakeLog) { l.offsetsErr = broken }, op: "look up oldest offset"},
		{name: "consumer", set: func(l *fakeLog) { l.consumeErr = broken }, op: "start consumer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newFakeLog(testTopic, testPartition)
			log.addString("a", "1")
			tc.set(log)
			p := newPartition(t, log, storage.NewMemory())

			err := p.Recover(context.Background())

			var kerr *KafkaError
			require.ErrorAs(t, err, &kerr)
			assert.Equal(t, tc.op, kerr.Op)
			assert.ErrorIs(t, err, broken)
			assert.True(t, Retriable(err))
			assert.Contains(t, err.Error(), `topic "tbl" partition 3`)
		})
	}
}

func TestConsumerClosingByItselfIsAnError(t *testing.T) {
	log := newFakeLog(testTopic, testPartition)
	log.addString("a", "1")
	log.skip(3)
	p := newPartition(t, log, storage.NewMemory(), func(c *Config) { c.IdleTimeout = time.Hour })

	done := runAsync(func() error { return p.Recover(context.Background()) })
	waitState(t, p, Recovering)
	log.anyConsumer().closeByItself()
	err := result(t, done)

	require.ErrorIs(t, err, errConsumerClosed)
	assert.True(t, Retriable(err))
}

// TestInterruptionsWhileRecordsKeepComing checks that a consumer that always
// has a record ready does not hide errors and stop requests: they are seen
// at the next full batch.
func TestInterruptionsWhileRecordsKeepComing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(t *testing.T, err error)
	}{
		{name: "consumer error", check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, sarama.ErrOutOfBrokers)
		}},
		{name: "cancel", check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, context.Canceled)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newFakeLog(testTopic, testPartition)
			log.buffer = 1000
			for i := range 1000 {
				log.addString("k"+strconv.Itoa(i), "v")
			}
			st := storage.NewMemory()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := newPartition(t, log, st, func(c *Config) {
				c.MaxBatchRecords = 10
				c.Update = func(s storage.Storage, rec *Record) error {
					if rec.Offset == 500 {
						if tc.name == "cancel" {
							cancel()
						} else {
							log.fail(sarama.ErrOutOfBrokers)
						}
					}
					return s.Set(rec.Key, rec.Value)
				}
			})

			err := p.Recover(ctx)

			tc.check(t, err)
			assert.Equal(t, int64(509), storedOffset(t, st), "stopped at the first full batch after the interruption")
		})
	}
}
