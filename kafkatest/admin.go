package kafkatest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topics are created over the wire, as any client would: kfake has no call
// for it, and a raw connection starts no goroutine that Close would have to
// wait for, unlike a full client.

// adminTimeout bounds one administrative exchange with the in-process broker,
// which answers in microseconds unless it is closing.
const adminTimeout = 10 * time.Second

// CreateTopic creates a topic with the given partition count (below 1: the
// WithPartitions count), the cluster's default replication and the given
// topic configs, for example cleanup.policy=compact. Errors the broker
// returns, such as TOPIC_ALREADY_EXISTS or INVALID_CONFIG, are returned
// wrapped and match errors.Is with the kerr sentinels.
func (c *Cluster) CreateTopic(name string, partitions int32, configs map[string]string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()

	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 4
	req.TimeoutMillis = int32(adminTimeout / time.Millisecond)
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic = name
	topic.NumPartitions = -1
	if partitions > 0 {
		topic.NumPartitions = partitions
	}
	topic.ReplicationFactor = -1
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name = k
		cfg.Value = kmsg.StringPtr(v)
		topic.Configs = append(topic.Configs, cfg)
	}
	req.Topics = append(req.Topics, topic)

	controller, err := c.controllerAddr(ctx)
	if err != nil {
		return fmt.Errorf("kafkatest: create topic %q: %w", name, err)
	}
	resp, err := roundTrip(ctx, controller, req)
	if err != nil {
		return fmt.Errorf("kafkatest: create topic %q: %w", name, err)
	}
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("kafkatest: create topic %q: %w", name, err)
		}
	}
	return nil
}

// controllerAddr asks a broker which broker is the controller, the only one
// that accepts CreateTopics.
func (c *Cluster) controllerAddr(ctx context.Context) (string, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 4
	req.Topics = []kmsg.MetadataRequestTopic{} // none, only brokers
	resp, err := roundTrip(ctx, c.addrs[0], req)
	if err != nil {
		return "", err
	}
	meta := resp.(*kmsg.MetadataResponse)
	for _, b := range meta.Brokers {
		if b.NodeID == meta.ControllerID {
			return net.JoinHostPort(b.Host, fmt.Sprint(b.Port)), nil
		}
	}
	return "", fmt.Errorf("metadata names controller %d but no such broker", meta.ControllerID)
}

// errShortResponse reports a response too short to hold its header.
var errShortResponse = errors.New("response shorter than its header")

// roundTrip sends req on a fresh connection to addr and decodes the answer.
func roundTrip(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return nil, fmt.Errorf("set deadline: %w", err)
		}
	}

	const correlationID = 1
	msg := kmsg.NewRequestFormatter(kmsg.FormatterClientID("kafkatest")).AppendRequest(nil, req, correlationID)
	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("write %s: %w", kmsg.NameForKey(req.Key()), err)
	}

	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil, fmt.Errorf("read %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, fmt.Errorf("read %s response: %w", kmsg.NameForKey(req.Key()), err)
	}

	resp := req.ResponseKind()
	header := 4 // correlation ID
	if resp.IsFlexible() {
		header++ // no tagged fields in our responses' headers: one zero byte
	}
	if len(body) < header {
		return nil, fmt.Errorf("%s: %w", kmsg.NameForKey(req.Key()), errShortResponse)
	}
	if err := resp.ReadFrom(body[header:]); err != nil {
		return nil, fmt.Errorf("decode %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}
