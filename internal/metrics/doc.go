// Package metrics holds the Prometheus collectors of processors, views and
// emitters.
//
// Every handle (*Processor, *Partition, *View, *Emitter) is nil-safe: a nil
// handle means metrics are off, and its methods return at once. The engine
// therefore calls them unconditionally and pays one nil check per call when
// no registry was given.
//
// Counters and histograms are pushed from the hot path through label
// children resolved once per partition and topic. Gauges that describe a
// state (consumer lag, recovery progress, partition states) are computed at
// scrape time from the running partitions, so they are exact whenever they
// are read and cost nothing between scrapes.
//
// Collectors are registered once per registry: a second processor, view or
// emitter on the same registry reuses the collectors already there (the
// AlreadyRegisteredError path), and the group or topic label tells them
// apart.
package metrics
