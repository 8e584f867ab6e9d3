package kafkatest

import (
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka4MinVersions is the lowest version of each request that Apache Kafka
// 4.0 accepts, where that is above what kfake accepts. KIP-896 removed the
// versions older clients used, keeping roughly what Kafka 2.1 clients send;
// produce v0-v2 went with the v0/v1 message formats (KIP-724). The numbers
// are those of franz-go's kversion table for 4.0. Kafka 4.1 re-added JoinGroup
// v0 and v1; we keep 4.0's floor, the stricter one.
var kafka4MinVersions = map[int16]int16{
	0:  3, // Produce
	1:  4, // Fetch
	2:  1, // ListOffsets
	8:  2, // OffsetCommit
	9:  1, // OffsetFetch
	11: 2, // JoinGroup
	19: 2, // CreateTopics
	20: 1, // DeleteTopics
	23: 2, // OffsetForLeaderEpoch
	27: 1, // WriteTxnMarkers
	29: 1, // DescribeAcls
	30: 1, // CreateAcls
	31: 1, // DeleteAcls
	32: 1, // DescribeConfigs
	34: 1, // AlterReplicaLogDirs
	35: 1, // DescribeLogDirs
	38: 1, // CreateDelegationToken
	39: 1, // RenewDelegationToken
	40: 1, // ExpireDelegationToken
	41: 1, // DescribeDelegationToken
}

// versionFloor refuses requests below kafka4MinVersions and remembers them,
// so a test can say which request was too old instead of only seeing a
// client fail on a closed connection.
type versionFloor struct {
	mu      sync.Mutex
	refused []string
}

// install makes the cluster consult the floor before handling any request.
// kfake closes the connection of a request its control function answers with
// an error, which is what a Kafka broker does with a request version it does
// not support.
func (f *versionFloor) install(c *kfake.Cluster) {
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		floor, ok := kafka4MinVersions[req.Key()]
		if !ok || req.GetVersion() >= floor {
			return nil, nil, false
		}
		c.KeepControl()
		msg := fmt.Sprintf("%s v%d (kafka 4.0 accepts v%d and later)", kmsg.NameForKey(req.Key()), req.GetVersion(), floor)
		f.mu.Lock()
		f.refused = append(f.refused, msg)
		f.mu.Unlock()
		return nil, fmt.Errorf("kafkatest: refusing %s", msg), true
	})
}

// refusedRequests returns what the floor refused so far.
func (f *versionFloor) refusedRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refused...)
}
