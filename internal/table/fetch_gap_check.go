package table

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"
)

// Bounds of the fetches of a gap check: the first asks for as much as a
// consumer does by default; a batch larger than that doubles it, up to the
// largest batch a broker accepts by default, times a margin.
const (
	gapFetchBytes    = 1 << 20
	gapFetchMaxBytes = 64 << 20
)

// controlTypeAbort is the type, in a control record's key, of the marker that
// ends an aborted transaction.
const controlTypeAbort = 0

// errGapNotProven marks answers that say why a gap could not be proven
// empty; the check is tried again later.
var errGapNotProven = errors.New("gap not proven empty")

// SaramaGapCheck returns a GapCheck that fetches the missing offsets from the
// partition's leader through client and reads the record batches themselves,
// which a partition consumer hides: a gap holds no data when every batch from
// the first missing offset up to the target is a control batch (transaction
// markers), holds no record in the range (compaction emptied it), or, for a
// read-committed client, belongs to an aborted transaction. The isolation
// level and protocol version are client's, which should be configured like
// the consumer that restores the table.
func SaramaGapCheck(client sarama.Client) GapCheck {
	return func(ctx context.Context, topic string, partition int32, from, to int64) (bool, error) {
		return fetchGap(ctx, client, topic, partition, from, to)
	}
}

// GapCheckOf returns SaramaGapCheck of the client v holds when v has a
// Client() sarama.Client method (the root package's topic manager has), and
// nil otherwise: a partition without a check waits for every offset.
func GapCheckOf(v any) GapCheck {
	if h, ok := v.(interface{ Client() sarama.Client }); ok {
		if c := h.Client(); c != nil {
			return SaramaGapCheck(c)
		}
	}
	return nil
}

// fetchGap fetches from from until a data record below to shows (false), or
// the batches read reach to without one (true).
func fetchGap(ctx context.Context, client sarama.Client, topic string, partition int32, from, to int64) (bool, error) {
	conf := client.Config()
	version, ok := gapFetchVersion(conf.Version)
	if !ok {
		return false, fmt.Errorf("%w: Kafka version %s has no record batches to inspect (0.11 or later needed)", errGapNotProven, conf.Version)
	}
	offset, maxBytes := from, int32(gapFetchBytes)
	for offset < to {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		block, err := fetchBlock(client, version, conf.Consumer.IsolationLevel, topic, partition, offset, maxBytes)
		if err != nil {
			return false, err
		}
		covered, data, partial := scanGap(block, offset, to, conf.Consumer.IsolationLevel)
		switch {
		case data:
			return false, nil
		case covered >= offset:
			offset = covered + 1
		case (partial || block.Partial) && maxBytes < gapFetchMaxBytes:
			maxBytes *= 2 // a batch larger than the fetch
		case block.HighWaterMarkOffset <= offset:
			// A leader elected a moment ago may not have raised its
			// high-water mark to the records it has: nothing is proven.
			return false, fmt.Errorf("%w: the leader's high-water mark is %d, not beyond offset %d", errGapNotProven, block.HighWaterMarkOffset, offset)
		default:
			return false, fmt.Errorf("%w: a fetch at offset %d returned no complete record batch", errGapNotProven, offset)
		}
	}
	return true, nil
}

// fetchBlock makes one fetch request for offset to the partition's leader.
func fetchBlock(client sarama.Client, version int16, isolation sarama.IsolationLevel, topic string, partition int32, offset int64, maxBytes int32) (*sarama.FetchResponseBlock, error) {
	leader, err := client.Leader(topic, partition)
	if err != nil {
		return nil, fmt.Errorf("gap check: find the leader: %w", err)
	}
	req := &sarama.FetchRequest{Version: version, MinBytes: 1, MaxWaitTime: 0, MaxBytes: maxBytes, Isolation: isolation}
	if version >= 7 {
		// No fetch session, as sarama's consumer.
		req.SessionID, req.SessionEpoch = 0, -1
	}
	req.AddBlock(topic, partition, offset, maxBytes, -1)
	resp, err := leader.Fetch(req)
	if err != nil {
		return nil, fmt.Errorf("gap check: fetch from broker %d at offset %d: %w", leader.ID(), offset, err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return nil, fmt.Errorf("gap check: broker %d answered without the partition", leader.ID())
	}
	if !errors.Is(block.Err, sarama.ErrNoError) {
		// The next check asks the leader the metadata names then.
		_ = client.RefreshMetadata(topic)
		return nil, fmt.Errorf("gap check: fetch from broker %d at offset %d: %w", leader.ID(), offset, block.Err)
	}
	return block, nil
}

// scanGap reads the batches of a fetch from offset: covered is the last
// offset the complete batches account for, data whether one of them holds a
// record the consumer would deliver at an offset from offset to to-1,
// partial whether the fetch cut a batch off.
func scanGap(block *sarama.FetchResponseBlock, offset, to int64, isolation sarama.IsolationLevel) (covered int64, data, partial bool) {
	covered = offset - 1
	// Aborted transactions, in offset order, and the producers inside one,
	// as a read-committed consumer tracks them.
	aborted := slices.Clone(block.AbortedTransactions)
	slices.SortFunc(aborted, func(a, b *sarama.AbortedTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	inAborted := map[int64]bool{}
	for _, recs := range block.RecordsSet {
		if recs == nil {
			continue
		}
		rb := recs.RecordBatch
		if rb == nil {
			// A message set of the formats before 0.11, which have no
			// transactions: any message at or after offset counts.
			if recs.MsgSet != nil {
				for _, m := range recs.MsgSet.Messages {
					if m.Offset >= offset {
						return covered, true, false
					}
				}
			}
			continue
		}
		if rb.PartialTrailingRecord {
			return covered, false, true // cut off by the fetch size
		}
		last := rb.LastOffset()
		for len(aborted) > 0 && aborted[0].FirstOffset <= last {
			inAborted[aborted[0].ProducerID] = true
			aborted = aborted[1:]
		}
		switch {
		case rb.Control:
			if isAbortMarker(rb) {
				delete(inAborted, rb.ProducerID)
			}
		case isolation == sarama.ReadCommitted && rb.IsTransactional && inAborted[rb.ProducerID]:
			// Skipped by a read-committed consumer.
		default:
			for _, r := range rb.Records {
				if o := rb.FirstOffset + r.OffsetDelta; o >= offset && o < to {
					return covered, true, false
				}
			}
		}
		covered = max(covered, last)
	}
	return covered, false, false
}

// isAbortMarker reports whether a control batch ends an aborted transaction:
// its record's key is a version and a type, both int16.
func isAbortMarker(rb *sarama.RecordBatch) bool {
	for _, r := range rb.Records {
		if len(r.Key) >= 4 && int16(binary.BigEndian.Uint16(r.Key[2:4])) == controlTypeAbort {
			return true
		}
	}
	return false
}

// gapFetchVersion picks the Fetch version sarama's consumer uses for the
// configured Kafka version; ok is false before 0.11 (version 4), which has
// no record batches.
func gapFetchVersion(v sarama.KafkaVersion) (version int16, ok bool) {
	switch {
	case v.IsAtLeast(sarama.V2_7_0_0):
		return 12, true
	case v.IsAtLeast(sarama.V2_3_0_0):
		return 11, true
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 10, true
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 8, true
	case v.IsAtLeast(sarama.V1_1_0_0):
		return 7, true
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 6, true
	case v.IsAtLeast(sarama.V0_11_0_0):
		return 5, true
	}
	return 0, false
}
