package goka

import "fmt"

// ensureDeadLetterTopics creates the dead-letter topics of the group's error
// policies that are missing, as streams with the inputs' npar partitions.
// An existing one is used as it is, whatever its partition count: nothing
// reads a dead-letter topic by key, so it need not be co-partitioned, and
// its owner may have sized it otherwise.
func (p *Processor) ensureDeadLetterTopics(tm TopicManager, npar int) error {
	for _, topic := range p.compiled.plan.DeadLetters {
		if _, err := tm.Partitions(topic); err == nil {
			continue
		}
		// Missing, or the lookup failed: the ensure tells which.
		if err := tm.EnsureStreamExists(topic, npar); err != nil {
			return fmt.Errorf("processor %q: ensuring dead-letter topic %s: %w", p.graph.Group(), topic, err)
		}
	}
	return nil
}
