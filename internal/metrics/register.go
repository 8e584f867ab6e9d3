package metrics

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Label names shared by the metrics.
const (
	labelGroup     = "group"
	labelTopic     = "topic"
	labelPartition = "partition"
	labelKind      = "kind"
	labelMode      = "mode"
)

// register registers c, or returns the equal collector registered before:
// every processor, view and emitter sharing a registry shares one set of
// collectors, told apart by labels.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("metrics: registering collector: %w", err)
}

// partitionLabel renders a partition number as a label value.
func partitionLabel(partition int32) string {
	return strconv.FormatInt(int64(partition), 10)
}
