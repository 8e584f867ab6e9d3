package table

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
)

// batch is a record batch from first holding records at the given offset
// deltas and spanning span offsets.
func batch(first int64, span int32, deltas ...int64) *sarama.Records {
	rb := &sarama.RecordBatch{FirstOffset: first, LastOffsetDelta: span - 1, Version: 2}
	for _, d := range deltas {
		rb.Records = append(rb.Records, &sarama.Record{OffsetDelta: d, Key: []byte("k"), Value: []byte("v")})
	}
	return &sarama.Records{RecordBatch: rb}
}

// marker is a control batch at offset; abort chooses the marker's type.
func marker(offset, producer int64, abort bool) *sarama.Records {
	typ := byte(1)
	if abort {
		typ = 0
	}
	rb := &sarama.RecordBatch{FirstOffset: offset, Version: 2, Control: true, IsTransactional: true, ProducerID: producer,
		Records: []*sarama.Record{{Key: []byte{0, 0, 0, typ}}}}
	return &sarama.Records{RecordBatch: rb}
}

// txn is a transactional batch of producer.
func txn(first int64, n int32, producer int64) *sarama.Records {
	r := batch(first, n)
	for i := range int64(n) {
		r.RecordBatch.Records = append(r.RecordBatch.Records, &sarama.Record{OffsetDelta: i})
	}
	r.RecordBatch.IsTransactional, r.RecordBatch.ProducerID = true, producer
	return r
}

func TestScanGap(t *testing.T) {
	for _, tc := range []struct {
		name        string
		recs        []*sarama.Records
		aborted     []*sarama.AbortedTransaction
		isolation   sarama.IsolationLevel
		from, to    int64
		wantCovered int64
		wantData    bool
		wantPartial bool
	}{
		{name: "markers only", recs: []*sarama.Records{marker(10, 1, false), marker(11, 2, false)}, from: 10, to: 12, wantCovered: 11},
		{name: "a record in the range", recs: []*sarama.Records{marker(10, 1, false), batch(11, 1, 0)}, from: 10, to: 12, wantCovered: 10, wantData: true},
		{name: "a record at the target is beyond", recs: []*sarama.Records{marker(10, 1, false), batch(11, 1, 0)}, from: 10, to: 11, wantCovered: 11},
		{name: "the straddling batch's earlier records are not in the gap", recs: []*sarama.Records{batch(5, 6, 0, 4)}, from: 10, to: 11, wantCovered: 10},
		{name: "compaction emptied the batch", recs: []*sarama.Records{batch(10, 5)}, from: 10, to: 15, wantCovered: 14},
		{name: "a cut-off batch covers nothing", recs: []*sarama.Records{marker(10, 1, false), {RecordBatch: &sarama.RecordBatch{FirstOffset: 11, PartialTrailingRecord: true}}},
			from: 10, to: 20, wantCovered: 10, wantPartial: true},
		{name: "aborted records, read uncommitted: data", recs: []*sarama.Records{txn(10, 3, 7), marker(13, 7, true)},
			aborted: []*sarama.AbortedTransaction{{ProducerID: 7, FirstOffset: 10}}, from: 10, to: 14, wantCovered: 9, wantData: true},
		{name: "aborted records, read committed: skipped", recs: []*sarama.Records{txn(10, 3, 7), marker(13, 7, true)},
			aborted: []*sarama.AbortedTransaction{{ProducerID: 7, FirstOffset: 10}}, isolation: sarama.ReadCommitted, from: 10, to: 14, wantCovered: 13},
		{name: "after the abort marker the producer's records count again", recs: []*sarama.Records{txn(10, 3, 7), marker(13, 7, true), txn(14, 1, 7)},
			aborted: []*sarama.AbortedTransaction{{ProducerID: 7, FirstOffset: 10}}, isolation: sarama.ReadCommitted, from: 10, to: 15, wantCovered: 13, wantData: true},
		{name: "a legacy message set counts as data", recs: []*sarama.Records{{MsgSet: &sarama.MessageSet{Messages: []*sarama.MessageBlock{{Offset: 10}}}}},
			from: 10, to: 11, wantCovered: 9, wantData: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block := &sarama.FetchResponseBlock{RecordsSet: tc.recs, AbortedTransactions: tc.aborted}
			covered, data, partial := scanGap(block, tc.from, tc.to, tc.isolation)
			assert.Equal(t, tc.wantCovered, covered, "covered")
			assert.Equal(t, tc.wantData, data, "data")
			assert.Equal(t, tc.wantPartial, partial, "partial")
		})
	}
}
