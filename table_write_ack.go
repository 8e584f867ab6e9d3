package goka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// ErrForeignPartitioner is what a processor stops with when a group table
// write lands in another partition than the input message it was made for.
// Co-partitioning needs every producer of the inputs to place keys with the
// processor's hasher; a table write goes where the processor's hasher says,
// so a different partition proves that the input's producer hashed the key
// otherwise (murmur2, the default of the Java client, Kafka Connect, Kafka
// Streams and franz-go, where the library defaults to FNV-1a). Left running,
// the partition would store the acknowledged offset of another partition and
// keep rows in a store whose table partition does not hold them.
var ErrForeignPartitioner = errors.New("the input's producer uses another partitioner than the processor's hasher")

// settleTableWrite takes Kafka's answer to a group table write of key: a
// refusal, or the partition and offset it was written to. The error it
// returns fails the message the write was made for. Either error leaves the
// local store marked dirty, so the next start rebuilds it from the topic.
func (pp *PartitionProcessor) settleTableWrite(key string, msg *sarama.ProducerMessage, err error) error {
	if err != nil {
		pp.tableWriteFailed.Store(true)
		return wrapEmitError(err, pp.tableTopic, key)
	}
	if msg == nil {
		return nil
	}
	if msg.Partition != pp.partition {
		pp.tableWriteFailed.Store(true)
		return fmt.Errorf("the table write of key %q went to partition %d of %s, not to partition %d of the input: %w; "+
			"write the inputs with the processor's hasher (DefaultHasher, FNV-1a, unless WithHasher says otherwise), "+
			"or give the processor, its emitters and views the producer's: for Java, Kafka Connect, Kafka Streams and franz-go defaults "+
			"WithHasher(goka.Murmur2Hasher()), WithEmitterHasher(goka.Murmur2Hasher()), WithViewHasher(goka.Murmur2Hasher()); "+
			"the record written to partition %d stays in the table topic",
			key, msg.Partition, pp.tableTopic, pp.partition, ErrForeignPartitioner, msg.Partition)
	}
	pp.ackedTableOffset(msg.Offset)
	return nil
}
