package goka

import "github.com/IBM/sarama"

// Broker is the part of *sarama.Broker a topic manager uses to check that the
// cluster answers before it relies on it. It exists so that tests can stand in
// for a broker; *sarama.Broker implements it.
type Broker interface {
	Addr() string
	Connected() (bool, error)
	CreateTopics(request *sarama.CreateTopicsRequest) (*sarama.CreateTopicsResponse, error)
	Open(conf *sarama.Config) error
}

// *sarama.Broker is what NewTopicManager checks.
var _ Broker = (*sarama.Broker)(nil)
