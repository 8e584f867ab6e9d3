package goka

import (
	"fmt"
	"time"

	"github.com/seed-b2c684ed/goka/internal/engine"
)

// ErrorPolicy says what a processor does with a message it cannot handle:
// one that cannot be decoded, or whose callback calls Context.Fail or
// panics. The zero value is StopOnError, goka's behaviour. Build one with
// StopOnError, RetryOnError, SkipOnError, DeadLetterOnError or
// DeadLetterOnErrorTo, and give it to WithErrorPolicy (every input) or
// WithInputErrorPolicy (one input or the loop).
//
// Under every policy a failed attempt leaves nothing behind: its SetValue,
// Delete, Emit and Loopback calls are dropped, so the group table, the
// outputs and the row the next attempt reads are as they were before the
// message. A retry is a new callback call with a fresh Context.
//
// A policy covers the failures that belong to the message: a decode error,
// Context.Fail called in the callback, and a panic of the callback. What is
// not the message's fault still stops the partition under every policy, as
// retrying or skipping the message would not help and would lose it: a
// refused write to the local group table, a write Kafka refuses (an emit, a
// loopback, a table write, a dead letter), Context.Fail called after the
// callback returned (from a goroutine it started), and a DeferCommit
// released with an error, whose message's writes are already sent. Visits
// (VisitAll) are not messages: a failing visitor fails its VisitAll call.
//
// Messages of one partition stay in order under every policy: a message is
// retried before the next one is processed, and a message given up is
// skipped or dead-lettered in its place. A message that fails while its
// partition stops (a rebalance, a shutdown; its Context's Context() has
// ended, which may be why it failed) is neither retried, skipped nor
// dead-lettered: it stays uncommitted for the partition's next owner.
type ErrorPolicy struct {
	// retries are the retry stages in order; then is what follows them.
	retries []retryStage
	then    errorAction
	// deadLetters is the dead-letter topic, "" for <group>-dlq.
	deadLetters Stream
	// invalid is the error of a constructor called with bad arguments,
	// reported by NewProcessor (the constructors return no error).
	invalid error
}

// retryStage is one RetryOnError: attempts more calls, the first after
// backoff, each later one after twice the wait before it. The first stage's
// first attempt is the message's first call, which does not wait.
type retryStage struct {
	attempts int
	backoff  time.Duration
}

// retries is how many of the stage's calls are retries: all but the
// message's first call.
func (p ErrorPolicy) retriesOf(stage int) int {
	if stage == 0 {
		return p.retries[0].attempts - 1
	}
	return p.retries[stage].attempts
}

type errorAction int

const (
	actionStop errorAction = iota
	actionSkip
	actionDeadLetter
)

// maxRetryBackoff caps the doubling of a retry's wait; a longer backoff given
// to RetryOnError is used as it is, undoubled.
const maxRetryBackoff = time.Minute

// StopOnError stops the partition at the failed message, and with it the
// processor: Run returns a *MessageError naming it. The message and those
// after it are not committed, so the next run processes them again. The
// default, as in goka.
func StopOnError() ErrorPolicy { return ErrorPolicy{} }

// SkipOnError logs a failed message with its topic, partition, offset, key
// and error, counts it (InputStats.Skipped and the metric
// goka_processor_messages_skipped_total) and commits past it.
func SkipOnError() ErrorPolicy { return ErrorPolicy{then: actionSkip} }

// DeadLetterOnError writes a failed message to the dead-letter topic
// <group>-dlq, then commits past it; see DeadLetterOnErrorTo.
func DeadLetterOnError() ErrorPolicy { return ErrorPolicy{then: actionDeadLetter} }

// DeadLetterOnErrorTo writes a failed message to topic with its original
// key, value and headers and the headers DeadLetterHeaderError,
// DeadLetterHeaderTopic, DeadLetterHeaderPartition, DeadLetterHeaderOffset,
// DeadLetterHeaderTime, DeadLetterHeaderGroup and DeadLetterHeaderAttempts,
// which say why, and counts it (InputStats.DeadLettered and the metric
// goka_processor_messages_dead_lettered_total). NewProcessor creates the
// topic with the topic manager when it is missing, as a stream with the
// inputs' partition count (with TopicManagerConfig.NoCreate it must exist);
// an existing one is used as it is. NewProcessor refuses a dead-letter
// topic the group reads (an input, the loop, a table).
//
// The message's offset is committed only once Kafka acknowledged its dead
// letter; the messages after it are processed meanwhile, and their offsets
// are committed once it is. A refused dead letter stops the partition with
// the message uncommitted, as a refused emit does. Without exactly-once
// processing a crash between the dead letter's write and the commit writes
// it again on the next run. Under WithExactlyOnce the dead letter is
// written in the instance's transaction, with the offset that passes the
// message: read_committed readers of the dead-letter topic see it once, or
// not at all when the transaction aborts and the message is processed again.
//
// A dead letter is fed back by producing its key, value and headers to the
// topic in its DeadLetterHeaderTopic header once the cause is fixed (see
// examples/11-dead-letters). A dead letter that fails again gets new
// headers that say why, in place of the old ones.
func DeadLetterOnErrorTo(topic Stream) ErrorPolicy {
	p := ErrorPolicy{then: actionDeadLetter, deadLetters: topic}
	if topic == "" {
		p.invalid = fmt.Errorf("DeadLetterOnErrorTo: empty topic (use DeadLetterOnError for <group>-dlq)")
	}
	return p
}

// RetryOnError calls the callback of a failed message again, up to attempts
// calls in all (the first included), each with a fresh Context; the message
// is decoded again for each. The first retry waits backoff, each later one
// twice the wait before it, up to a minute (a longer backoff stays as
// given). Once every attempt failed, then decides (it may retry again: its
// attempts then are all retries). The partition processes nothing else
// meanwhile, so later messages wait: keep attempts and backoff small. A
// wait ends when the partition stops (a rebalance, a shutdown), leaving the
// message uncommitted. Retries are counted in InputStats.Retried and the
// metric goka_processor_message_retries_total.
func RetryOnError(attempts int, backoff time.Duration, then ErrorPolicy) ErrorPolicy {
	p := ErrorPolicy{then: then.then, deadLetters: then.deadLetters, invalid: then.invalid}
	switch {
	case attempts < 1:
		p.invalid = fmt.Errorf("RetryOnError: %d attempts, need at least 1", attempts)
	case backoff < 0:
		p.invalid = fmt.Errorf("RetryOnError: negative backoff %s", backoff)
	}
	p.retries = append([]retryStage{{attempts: max(attempts, 1), backoff: backoff}}, then.retries...)
	return p
}

// String describes the policy, for logs and error messages.
func (p ErrorPolicy) String() string {
	var s string
	for i, r := range p.retries {
		s += fmt.Sprintf("retry %d times from %s, then ", p.retriesOf(i), r.backoff)
	}
	switch p.then {
	case actionSkip:
		return s + "skip"
	case actionDeadLetter:
		if p.deadLetters == "" {
			return s + "dead-letter to <group>-dlq"
		}
		return s + "dead-letter to " + string(p.deadLetters)
	}
	return s + "stop"
}

// The headers a dead letter carries beside the original message's headers,
// which they replace where the names collide (a dead letter that failed
// again).
const (
	// DeadLetterHeaderError is the error's text.
	DeadLetterHeaderError = engine.DeadLetterHeaderError
	// DeadLetterHeaderTopic is the topic the message was consumed from.
	DeadLetterHeaderTopic = engine.DeadLetterHeaderTopic
	// DeadLetterHeaderPartition is its partition, in decimal.
	DeadLetterHeaderPartition = engine.DeadLetterHeaderPartition
	// DeadLetterHeaderOffset is its offset, in decimal.
	DeadLetterHeaderOffset = engine.DeadLetterHeaderOffset
	// DeadLetterHeaderTime is when it was given up, in RFC 3339 with
	// nanoseconds, UTC.
	DeadLetterHeaderTime = engine.DeadLetterHeaderTime
	// DeadLetterHeaderGroup is the processor's group.
	DeadLetterHeaderGroup = engine.DeadLetterHeaderGroup
	// DeadLetterHeaderAttempts is how many times it was tried, in decimal.
	DeadLetterHeaderAttempts = engine.DeadLetterHeaderAttempts
)

// WithErrorPolicy sets the error policy of every input and of the loop
// (WithInputErrorPolicy overrides it for one). Default: StopOnError.
func WithErrorPolicy(policy ErrorPolicy) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) { o.errorPolicy = policy }
}

// WithInputErrorPolicy sets the error policy of one input stream or of the
// loop, in place of WithErrorPolicy's. NewProcessor fails when topic is
// neither.
func WithInputErrorPolicy(topic Stream, policy ErrorPolicy) ProcessorOption {
	return func(o *poptions, gg *GroupGraph) {
		if o.inputErrorPolicies == nil {
			o.inputErrorPolicies = make(map[Stream]ErrorPolicy)
		}
		o.inputErrorPolicies[topic] = policy
	}
}

// deadLetterTopic is the policy's dead-letter topic in group, "" when it does
// not dead-letter.
func (p ErrorPolicy) deadLetterTopic(group Group) string {
	switch {
	case p.then != actionDeadLetter:
		return ""
	case p.deadLetters != "":
		return string(p.deadLetters)
	}
	return string(group) + "-dlq"
}

// compile turns the policy into the engine's, for group.
func (p ErrorPolicy) compile(group Group) engine.ErrorPolicy {
	ep := engine.ErrorPolicy{DeadLetterTopic: p.deadLetterTopic(group)}
	switch p.then {
	case actionSkip:
		ep.Then = engine.ActionSkip
	case actionDeadLetter:
		ep.Then = engine.ActionDeadLetter
	}
	stages := make([]retryStage, len(p.retries))
	for i, r := range p.retries {
		stages[i] = retryStage{attempts: p.retriesOf(i), backoff: r.backoff}
		ep.Retries += stages[i].attempts
	}
	if ep.Retries > 0 {
		ep.Backoff = func(retry int) time.Duration {
			for _, r := range stages {
				if retry > r.attempts {
					retry -= r.attempts
					continue
				}
				return doubled(r.backoff, retry-1)
			}
			return 0
		}
	}
	return ep
}

// doubled is backoff doubled n times, capped at maxRetryBackoff unless
// backoff is longer already.
func doubled(backoff time.Duration, n int) time.Duration {
	if backoff <= 0 || backoff >= maxRetryBackoff {
		return backoff
	}
	for ; n > 0 && backoff < maxRetryBackoff; n-- {
		backoff *= 2
	}
	return min(backoff, maxRetryBackoff)
}

// routePolicies checks the error policy options against the graph and
// returns the policy of each input and loop topic.
func (o *poptions) routePolicies(gg *GroupGraph) (map[string]ErrorPolicy, error) {
	streams := make(map[string]bool)
	for _, e := range gg.InputStreams() {
		streams[e.Topic()] = true
	}
	if loop := gg.LoopStream(); loop != nil {
		streams[loop.Topic()] = true
	}
	for topic := range o.inputErrorPolicies {
		if !streams[string(topic)] {
			return nil, fmt.Errorf("processor %q: WithInputErrorPolicy: %s is not an input stream or the loop of the group", gg.Group(), topic)
		}
	}
	policies := make(map[string]ErrorPolicy, len(streams))
	for topic := range streams {
		policy, ok := o.inputErrorPolicies[Stream(topic)]
		if !ok {
			policy = o.errorPolicy
		}
		if policy.invalid != nil {
			return nil, fmt.Errorf("processor %q: error policy of %s: %w", gg.Group(), topic, policy.invalid)
		}
		if dlq := policy.deadLetterTopic(gg.Group()); dlq != "" && readsTopic(gg, dlq) {
			return nil, fmt.Errorf("processor %q: error policy of %s: dead-letter topic %s is a topic of the group itself", gg.Group(), topic, dlq)
		}
		policies[topic] = policy
	}
	return policies, nil
}

// readsTopic reports whether the group reads topic: an input, the loop, the
// group table, a join or a lookup. A dead letter written there would come
// back to the group (a poison message forever, or a corrupt table).
func readsTopic(gg *GroupGraph, topic string) bool {
	var read Edges
	read = append(read, gg.InputStreams()...)
	read = append(read, gg.JointTables()...)
	read = append(read, gg.LookupTables()...)
	if loop := gg.LoopStream(); loop != nil {
		read = append(read, loop)
	}
	if table := gg.GroupTable(); table != nil {
		read = append(read, table)
	}
	for _, t := range read.Topics() {
		if t == topic {
			return true
		}
	}
	return false
}
