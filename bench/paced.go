package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// pace calls send with 0, 1, 2, ... at rate calls per second until ctx is
// done or send fails. A ticker wakes it at most once a millisecond, and each
// tick sends what is due by then, so the rate holds on average when a busy
// machine delays a tick and above the ticker's resolution.
func pace(ctx context.Context, rate int, send func(seq int64) error) error {
	t := time.NewTicker(max(time.Second/time.Duration(rate), time.Millisecond))
	defer t.Stop()
	start := time.Now()
	var sent int64
	for {
		due := int64(time.Since(start).Seconds()*float64(rate)) + 1
		for ; sent < due && ctx.Err() == nil; sent++ {
			if err := send(sent); err != nil {
				if ctx.Err() != nil {
					return nil // stopped while send waited
				}
				return fmt.Errorf("sending message %d: %w", sent, err)
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// seqOf reads the sequence number a paced message carries as its value:
// decimal text of seq+1, so that the 0 of a pre-filled record is no message.
func seqOf(value []byte) (int64, bool) {
	v, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil || v < 1 {
		return 0, false
	}
	return v - 1, true
}

// valueOf is the value that carries seq (see seqOf).
func valueOf(seq int64) []byte {
	return strconv.AppendInt(nil, seq+1, 10)
}

// pacedProducer is a raw sarama async producer whose acknowledgements are
// stamped, the writer of the baselines (and the input of
// processor-latency).
type pacedProducer struct {
	producer sarama.AsyncProducer
	topic    string
	drained  sync.WaitGroup
}

func (e *env) newPacedProducer(topic string, st *stamps) (*pacedProducer, error) {
	producer, err := sarama.NewAsyncProducer(e.brokers, e.producerConfig())
	if err != nil {
		return nil, fmt.Errorf("creating the producer: %w", err)
	}
	p := &pacedProducer{producer: producer, topic: topic}
	p.drained.Add(2)
	go func() {
		defer p.drained.Done()
		for m := range producer.Successes() {
			st.ack(m.Metadata.(int64), time.Now())
		}
	}()
	go func() {
		defer p.drained.Done()
		for perr := range producer.Errors() {
			st.fail(fmt.Errorf("producing to %s: %w", topic, perr.Err))
		}
	}()
	return p, nil
}

// send writes message seq with key; pace calls it.
func (p *pacedProducer) send(ctx context.Context, seq int64, key string) error {
	msg := &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(valueOf(seq)), Metadata: seq}
	select {
	case p.producer.Input() <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close waits for every acknowledgement.
func (p *pacedProducer) close() error {
	err := p.producer.Close()
	p.drained.Wait()
	if err != nil {
		return fmt.Errorf("closing the producer: %w", err)
	}
	return nil
}

// follower is a raw sarama consumer reading every partition of a topic
// from the oldest offset and stamping each paced message it receives.
type follower struct {
	client   sarama.Client
	consumer sarama.Consumer
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// caughtUp is closed once every partition has delivered what it held
	// when the follower started: the raw client's "recovered".
	caughtUp chan struct{}
}

func (e *env) follow(ctx context.Context, topic string, st *stamps) (*follower, error) {
	client, err := sarama.NewClient(e.brokers, e.config())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("creating a consumer: %w", err), client.Close())
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{client: client, consumer: consumer, cancel: cancel, caughtUp: make(chan struct{})}
	ends, err := hwms(client, topic)
	if err != nil {
		return nil, errors.Join(err, f.stop())
	}
	var behind atomic.Int64
	behind.Add(int64(len(ends)) + 1)
	arrived := func() {
		if behind.Add(-1) == 0 {
			close(f.caughtUp)
		}
	}
	for p, end := range ends {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("consuming %s/%d: %w", topic, p, err), f.stop())
		}
		if end == 0 {
			arrived()
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer pc.Close()
			behindEnd := end > 0
			for {
				select {
				case msg := <-pc.Messages():
					now := time.Now()
					if seq, ok := seqOf(msg.Value); ok {
						st.see(seq, now)
					}
					if behindEnd && msg.Offset+1 >= end {
						behindEnd = false
						arrived()
					}
				case cerr := <-pc.Errors():
					st.fail(fmt.Errorf("consuming %s/%d: %w", topic, p, cerr))
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	arrived()
	return f, nil
}

// stop ends the reads and closes the clients.
func (f *follower) stop() error {
	f.cancel()
	f.wg.Wait()
	return errors.Join(f.consumer.Close(), f.client.Close())
}
