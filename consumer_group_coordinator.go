package goka

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/IBM/sarama"
)

// A broker handles the requests of one connection one at a time, in order,
// and a JoinGroup is answered only once every member of the group has
// rejoined, up to a heartbeat interval later. sarama sends the group's
// requests on the connection its consumer fetches on, so while a member
// waits in JoinGroup, no partition led by the coordinator broker is
// fetched: every partition it leads pauses for the join, those that stay
// included. The cooperative protocol is meant to keep those running, so a
// cooperative consumer group talks to its coordinator on a connection of
// its own (coordinatorClient).

// newConsumerGroup builds a consumer group of config, giving it a
// connection of its own to its coordinator when it rebalances
// cooperatively.
func newConsumerGroup(brokers []string, group string, config *sarama.Config) (sarama.ConsumerGroup, error) {
	if !cooperativeProtocol(config) {
		return sarama.NewConsumerGroup(brokers, group, config)
	}
	client, err := sarama.NewClient(brokers, config)
	if err != nil {
		return nil, err
	}
	own := &coordinatorClient{Client: client, conns: make(map[string]*sarama.Broker)}
	cg, err := sarama.NewConsumerGroupFromClient(group, own)
	if err != nil {
		_ = own.Close()
		return nil, err
	}
	return &clientOwningGroup{ConsumerGroup: cg, client: own}, nil
}

// cooperativeProtocol reports whether every balance strategy of config
// supports the cooperative protocol, which sarama then runs.
func cooperativeProtocol(config *sarama.Config) bool {
	strategies := config.Consumer.Group.Rebalance.GroupStrategies
	if s := config.Consumer.Group.Rebalance.Strategy; s != nil { // sarama still honours it
		strategies = []sarama.BalanceStrategy{s}
	}
	if len(strategies) == 0 {
		return false
	}
	for _, s := range strategies {
		p, ok := s.(sarama.RebalanceProtocolBalanceStrategy)
		if !ok || !slices.Contains(p.SupportedProtocols(), sarama.RebalanceProtocolCooperative) {
			return false
		}
	}
	return true
}

// coordinatorClient is a sarama client whose group coordinator is reached
// on a connection of its own, one per coordinator address, opened again
// when sarama closed it after an error.
type coordinatorClient struct {
	sarama.Client

	mu     sync.Mutex
	conns  map[string]*sarama.Broker
	closed bool
}

// Coordinator returns the group's coordinator on the client's own
// connection to it.
func (c *coordinatorClient) Coordinator(group string) (*sarama.Broker, error) {
	shared, err := c.Client.Coordinator(group)
	if err != nil {
		return nil, err
	}
	return c.own(shared.Addr())
}

func (c *coordinatorClient) own(addr string) (*sarama.Broker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, sarama.ErrClosedClient
	}
	b := c.conns[addr]
	if b == nil {
		b = sarama.NewBroker(addr)
		c.conns[addr] = b
	}
	if connected, _ := b.Connected(); !connected {
		// Open dials in the background; the first request waits for it.
		if err := b.Open(c.Config()); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
			return nil, fmt.Errorf("connecting to the group coordinator %s: %w", addr, err)
		}
	}
	return b, nil
}

// Close closes the coordinator connections, then the client.
func (c *coordinatorClient) Close() error {
	c.mu.Lock()
	c.closed = true
	conns := c.conns
	c.conns = nil
	c.mu.Unlock()
	for _, b := range conns {
		_ = b.Close() // ErrNotConnected for one sarama closed already
	}
	return c.Client.Close()
}

// clientOwningGroup is a consumer group built on a client of its own, which
// it closes with itself (sarama's NewConsumerGroupFromClient leaves the
// client to the caller).
type clientOwningGroup struct {
	sarama.ConsumerGroup
	client sarama.Client
}

// Close closes the group and then its client.
func (g *clientOwningGroup) Close() error {
	return errors.Join(g.ConsumerGroup.Close(), g.client.Close())
}
