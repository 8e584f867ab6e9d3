package engine

import (
	"fmt"

	"github.com/IBM/sarama"
)

// settleTableWrite takes Kafka's answer to a group table write of key: a
// refusal, or the partition and offset it was written to. The error it
// returns fails the message the write was made for. Either error leaves the
// local store marked dirty, so the next start rebuilds it from the topic.
func (p *Partition) settleTableWrite(key string, msg *sarama.ProducerMessage, err error) error {
	if err != nil {
		p.tableWriteFailed.Store(true)
		return wrapEmitError(err, p.plan.Table, key)
	}
	if msg == nil {
		return nil
	}
	if msg.Partition != p.partition {
		p.tableWriteFailed.Store(true)
		return fmt.Errorf("the table write of key %q went to partition %d of %s, not to partition %d of the input: %w; "+
			"write the inputs with the processor's hasher (DefaultHasher, FNV-1a, unless WithHasher says otherwise), "+
			"or give the processor, its emitters and views the producer's: for Java, Kafka Connect, Kafka Streams and franz-go defaults "+
			"WithHasher(goka.Murmur2Hasher()), WithEmitterHasher(goka.Murmur2Hasher()), WithViewHasher(goka.Murmur2Hasher()); "+
			"the record written to partition %d stays in the table topic",
			key, msg.Partition, p.plan.Table, p.partition, ErrForeignPartitioner, msg.Partition)
	}
	p.ackedTableOffset(msg.Offset)
	return nil
}

// ackedTableOffset records the offset of an acknowledged group table write;
// acknowledgements may arrive out of order, the highest wins.
func (p *Partition) ackedTableOffset(offset int64) {
	for {
		cur := p.acked.Load()
		if offset <= cur || p.acked.CompareAndSwap(cur, offset) {
			return
		}
	}
}
