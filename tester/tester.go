package tester

import (
	"fmt"
	"hash"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/storage"
)

// T is the part of *testing.T the tester uses to fail a test.
type T interface {
	Errorf(format string, args ...interface{})
	Fatalf(format string, args ...interface{})
	Fatal(a ...interface{})
}

const defaultTimeout = 10 * time.Second

// Tester is an in-memory Kafka for processors, views and emitters built with
// goka.WithTester, goka.WithViewTester and goka.WithEmitterTester. It
// implements goka.Tester.
type Tester struct {
	t       T
	broker  *broker
	timeout time.Duration

	mu       sync.Mutex
	codecs   map[string]goka.Codec
	storages map[string]map[string]*tableStorage // topic -> client ID -> storage
	firstUse map[string]string                   // topic -> client ID of its first storage
	owners   map[string]string                   // table -> client ID of the processor persisting it
	seeds    map[string]map[string][]byte        // table -> key -> value set by SetTableValue
	clients  map[string]*client
	order    []string // client IDs in registration order
}

var _ goka.Tester = (*Tester)(nil)

// client is a registered processor or view and what the tester knows of its
// progress.
type client struct {
	id     string
	kind   string // "processor" or "view"
	name   string // group or table
	inputs []string
	tables []string // topics it reads as tables: joins, lookups, a view's table

	started bool // it ran: a session was set up, or a view began reading
	running bool // a consumer group session is active
	stopped bool // its clients were closed: Run returned
}

// New returns a tester that fails t when something goes wrong.
func New(t T, options ...Option) *Tester {
	tt := &Tester{
		t:        t,
		broker:   newBroker(),
		timeout:  defaultTimeout,
		codecs:   make(map[string]goka.Codec),
		storages: make(map[string]map[string]*tableStorage),
		firstUse: make(map[string]string),
		owners:   make(map[string]string),
		seeds:    make(map[string]map[string][]byte),
		clients:  make(map[string]*client),
	}
	for _, opt := range options {
		opt(tt)
	}
	return tt
}

// registerCodec remembers how a topic is encoded. One topic with two codec
// types is a mistake in the test setup.
func (tt *Tester) registerCodec(topic string, c goka.Codec) {
	if c == nil || topic == "" {
		return
	}
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if prev, ok := tt.codecs[topic]; ok && reflect.TypeOf(prev) != reflect.TypeOf(c) {
		tt.t.Fatalf("tester: topic %s is registered with codec %T and with codec %T", topic, prev, c)
		return
	}
	tt.codecs[topic] = c
}

func (tt *Tester) codecOf(topic string) goka.Codec {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	c, ok := tt.codecs[topic]
	if !ok {
		tt.t.Fatalf("tester: no codec registered for topic %s: no processor, view or emitter uses it", topic)
		return nil
	}
	return c
}

func (tt *Tester) addClient(c *client) string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	c.id = fmt.Sprintf("client-%d", len(tt.order))
	tt.clients[c.id] = c
	tt.order = append(tt.order, c.id)
	return c.id
}

// RegisterGroupGraph registers a processor; goka.WithTester calls it.
func (tt *Tester) RegisterGroupGraph(gg *goka.GroupGraph) string {
	for _, e := range gg.AllEdges() {
		if e.Codec() == nil {
			continue
		}
		if strings.Contains(e.Topic(), ",") {
			for _, in := range gg.InputStreams() {
				tt.registerCodec(in.Topic(), in.Codec())
			}
			continue
		}
		tt.registerCodec(e.Topic(), e.Codec())
	}
	c := &client{kind: "processor", name: string(gg.Group())}
	c.inputs = append(c.inputs, gg.InputStreams().Topics()...)
	if loop := gg.LoopStream(); loop != nil {
		c.inputs = append(c.inputs, loop.Topic())
	}
	c.tables = append(c.tables, gg.JointTables().Topics()...)
	c.tables = append(c.tables, gg.LookupTables().Topics()...)
	for _, topic := range append(append([]string{}, c.inputs...), c.tables...) {
		tt.broker.ensure(topic)
	}
	id := tt.addClient(c)
	if gt := gg.GroupTable(); gt != nil {
		tt.broker.ensure(gt.Topic())
		tt.mu.Lock()
		tt.owners[gt.Topic()] = id
		tt.mu.Unlock()
	}
	return id
}

// RegisterView registers a view; goka.WithViewTester calls it.
func (tt *Tester) RegisterView(table goka.Table, c goka.Codec) string {
	tt.registerCodec(string(table), c)
	tt.broker.ensure(string(table))
	return tt.addClient(&client{kind: "view", name: string(table), tables: []string{string(table)}})
}

// RegisterEmitter registers an emitter; goka.WithEmitterTester calls it.
func (tt *Tester) RegisterEmitter(topic goka.Stream, c goka.Codec) {
	tt.registerCodec(string(topic), c)
	tt.broker.ensure(string(topic))
}

// StorageBuilder returns a builder of storages that belong to no registered
// client. The goka options use ClientStorageBuilder instead.
func (tt *Tester) StorageBuilder() storage.Builder { return tt.ClientStorageBuilder("") }

// ClientStorageBuilder returns the builder of one client's storages: every
// processor and view has its own storage per table, as it would have its own
// local store in production, so a view of a table never writes into the store
// of the processor that owns the table.
func (tt *Tester) ClientStorageBuilder(clientID string) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		return tt.storageFor(topic, clientID, true), nil
	}
}

// storageFor returns a client's storage of topic, creating it, filled with
// the values SetTableValue seeded, when create is set; nil otherwise.
func (tt *Tester) storageFor(topic, clientID string, create bool) *tableStorage {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	byClient, ok := tt.storages[topic]
	if !ok {
		byClient = make(map[string]*tableStorage)
		tt.storages[topic] = byClient
	}
	st, ok := byClient[clientID]
	if ok || !create {
		return st
	}
	st = &tableStorage{Storage: storage.NewMemory(), tt: tt}
	for k, v := range tt.seeds[topic] {
		_ = st.Storage.Set(k, v) // memory storage: cannot fail
	}
	byClient[clientID] = st
	if _, ok := tt.firstUse[topic]; !ok {
		tt.firstUse[topic] = clientID
	}
	return st
}

// readStorage returns the storage that TableValue and GetTableKeys read: the
// one of the processor that persists the table, else the first one created;
// nil when nobody uses the table.
func (tt *Tester) readStorage(topic string) storage.Storage {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	byClient := tt.storages[topic]
	if owner, ok := tt.owners[topic]; ok {
		if st, ok := byClient[owner]; ok {
			return st
		}
	}
	if first, ok := tt.firstUse[topic]; ok {
		return byClient[first]
	}
	return nil
}

// topicStorages returns every storage of topic, or of every topic when topic
// is empty.
func (tt *Tester) topicStorages(topic string) []*tableStorage {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	var all []*tableStorage
	for t, byClient := range tt.storages {
		if topic != "" && t != topic {
			continue
		}
		for _, st := range byClient {
			all = append(all, st)
		}
	}
	return all
}

// ProducerBuilder returns the builder of the processors' producers.
func (tt *Tester) ProducerBuilder() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		return &producer{tt: tt}, nil
	}
}

// EmitterProducerBuilder returns the builder of the emitters' producers. An
// emit is appended at once; reads through the tester wait until the
// processors handled it.
func (tt *Tester) EmitterProducerBuilder() goka.ProducerBuilder { return tt.ProducerBuilder() }

// ConsumerGroupBuilder returns the builder of the processors' consumer groups.
func (tt *Tester) ConsumerGroupBuilder() goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		return &consumerGroup{tt: tt, group: group, clientID: clientID, errs: make(chan error, 16)}, nil
	}
}

// ConsumerBuilder returns the builder of the consumers tables are read with.
func (tt *Tester) ConsumerBuilder() goka.SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		return &closingConsumer{consumer: &consumer{tt: tt, clientID: clientID, partitions: make(map[*partitionConsumer]struct{})}}, nil
	}
}

// TopicManagerBuilder returns the builder of the tester's topic manager.
func (tt *Tester) TopicManagerBuilder() goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		return NewMockTopicManager(tt, 1, 1), nil
	}
}

// closingConsumer tells the tester when a client's consumer is closed, which
// happens when its Run returns.
type closingConsumer struct {
	*consumer
}

func (c *closingConsumer) Close() error {
	err := c.consumer.Close()
	c.tt.clientStopped(c.clientID)
	return err
}

func (tt *Tester) update(clientID string, fn func(c *client)) {
	tt.mu.Lock()
	if c, ok := tt.clients[clientID]; ok {
		fn(c)
	}
	tt.mu.Unlock()
	tt.broker.notify()
}

func (tt *Tester) sessionStarted(clientID, group string, topics []string) {
	tt.update(clientID, func(c *client) { c.started, c.running = true, true })
}

func (tt *Tester) sessionEnded(clientID string) {
	tt.update(clientID, func(c *client) { c.running = false })
}

func (tt *Tester) readerStarted(clientID, topic string) {
	tt.update(clientID, func(c *client) {
		if c.kind == "view" {
			c.started = true
		}
	})
}

func (tt *Tester) clientStopped(clientID string) {
	tt.update(clientID, func(c *client) {
		if c.started {
			c.stopped = true
		}
	})
}

// waitFor waits until check reports nothing left to wait for, and fails the
// test with check's description of what is missing at the deadline.
func (tt *Tester) waitFor(what string, check func() string) {
	deadline := time.NewTimer(tt.timeout)
	defer deadline.Stop()
	for {
		changed := tt.broker.watch()
		missing := check()
		if missing == "" {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tt.t.Fatalf("tester: %s did not happen within %v: %s", what, tt.timeout, missing)
			return
		}
	}
}

// waitStartup waits until every registered processor and view ran.
func (tt *Tester) waitStartup() {
	tt.waitFor("startup", func() string {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		var missing []string
		for _, id := range tt.order {
			c := tt.clients[id]
			if !c.started && !c.stopped {
				missing = append(missing, fmt.Sprintf("%s %q (%s) was registered with the tester but never ran: start its Run in a goroutine before using the tester", c.kind, c.name, c.id))
			}
		}
		return strings.Join(missing, "; ")
	})
}

// waitIdle waits until every running processor committed everything in its
// input topics and every running reader applied everything in its tables.
func (tt *Tester) waitIdle() {
	tt.waitFor("catching up", func() string {
		tt.mu.Lock()
		clients := make([]client, 0, len(tt.order))
		for _, id := range tt.order {
			clients = append(clients, *tt.clients[id])
		}
		tt.mu.Unlock()
		var lagging []string
		for _, c := range clients {
			if !c.started || c.stopped {
				continue
			}
			if c.kind == "processor" {
				if !c.running {
					lagging = append(lagging, fmt.Sprintf("processor %q is between consumer group sessions", c.name))
					continue
				}
				for _, topic := range c.inputs {
					if committed, hwm := tt.broker.committed(c.name, topic), tt.broker.hwm(topic); committed < hwm {
						lagging = append(lagging, fmt.Sprintf("processor %q committed topic %s up to offset %d of %d", c.name, topic, committed, hwm))
					}
				}
			}
			for _, topic := range c.tables {
				hwm := tt.broker.hwm(topic)
				if hwm == 0 {
					continue
				}
				offset := int64(-1)
				if st := tt.storageFor(topic, c.id, false); st != nil {
					offset, _ = st.GetOffset(-1)
				}
				if offset < hwm-1 {
					lagging = append(lagging, fmt.Sprintf("%s %q applied table %s up to offset %d of %d", c.kind, c.name, topic, offset, hwm-1))
				}
			}
		}
		return strings.Join(lagging, "; ")
	})
}

// Consume sends a message to topic, encoded with the topic's registered
// codec, and returns when every processor and view has handled it and
// everything it caused. A nil msg (or nil pointer) is sent as a nil value.
func (tt *Tester) Consume(topic string, key string, msg interface{}, options ...EmitOption) {
	tt.waitStartup()
	var opts emitOption
	for _, opt := range options {
		opt(&opts)
	}
	var value []byte
	if !isNil(msg) {
		c := tt.codecOf(topic)
		if c == nil {
			return // reported by codecOf
		}
		var err error
		if value, err = c.Encode(msg); err != nil {
			tt.t.Fatalf("tester: encoding the message with key %q for topic %s: %v", key, topic, err)
			return
		}
	}
	tt.broker.append(topic, &message{key: key, value: value, headers: opts.headers.ToSaramaPtr(), timestamp: opts.time})
	tt.waitIdle()
}

func isNil(v interface{}) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Ptr, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// Catchup waits until every processor and view has handled everything
// produced so far, for example by an emitter.
func (tt *Tester) Catchup() {
	tt.waitStartup()
	tt.waitIdle()
}

// TableValue returns the value of key in table, decoded with the table's
// codec, once everything produced so far is handled; nil when absent.
func (tt *Tester) TableValue(table goka.Table, key string) interface{} {
	tt.Catchup()
	var data []byte
	var err error
	if st := tt.readStorage(string(table)); st != nil {
		data, err = st.Get(key)
	} else {
		tt.mu.Lock()
		data = tt.seeds[string(table)][key]
		tt.mu.Unlock()
	}
	if err != nil {
		tt.t.Fatalf("tester: reading key %q of table %s: %v", key, table, err)
		return nil
	}
	if data == nil {
		return nil
	}
	value, err := tt.codecOf(string(table)).Decode(data)
	if err != nil {
		tt.t.Fatalf("tester: decoding key %q of table %s: %v", key, table, err)
		return nil
	}
	return value
}

// SetTableValue writes a value straight into every storage of the table, and
// into those created later; nothing is sent to the table topic.
func (tt *Tester) SetTableValue(table goka.Table, key string, value interface{}) {
	tt.waitStartup()
	data, err := tt.codecOf(string(table)).Encode(value)
	if err != nil {
		tt.t.Fatalf("tester: encoding the value of key %q for table %s: %v", key, table, err)
		return
	}
	tt.mu.Lock()
	seeds, ok := tt.seeds[string(table)]
	if !ok {
		seeds = make(map[string][]byte)
		tt.seeds[string(table)] = seeds
	}
	seeds[key] = data
	tt.mu.Unlock()
	for _, st := range tt.topicStorages(string(table)) {
		if err := st.Set(key, data); err != nil {
			tt.t.Fatalf("tester: writing key %q of table %s: %v", key, table, err)
		}
	}
}

// GetTableKeys returns the keys of table in sorted order.
func (tt *Tester) GetTableKeys(table goka.Table) []string {
	tt.Catchup()
	st := tt.readStorage(string(table))
	if st == nil {
		tt.mu.Lock()
		defer tt.mu.Unlock()
		var keys []string
		for k := range tt.seeds[string(table)] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	it, err := st.Iterator()
	if err != nil {
		tt.t.Fatalf("tester: iterating table %s: %v", table, err)
		return nil
	}
	defer it.Release()
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	sort.Strings(keys)
	return keys
}

// ClearValues deletes every key of every table storage, so subtests can
// start from empty tables.
func (tt *Tester) ClearValues() {
	tt.mu.Lock()
	tt.seeds = make(map[string]map[string][]byte)
	tt.mu.Unlock()
	for _, st := range tt.topicStorages("") {
		it, err := st.Iterator()
		if err != nil {
			tt.t.Fatalf("tester: clearing values: %v", err)
			return
		}
		var keys []string
		for it.Next() {
			keys = append(keys, string(it.Key()))
		}
		it.Release()
		for _, k := range keys {
			if err := st.Delete(k); err != nil {
				tt.t.Fatalf("tester: clearing key %q: %v", k, err)
			}
		}
	}
}
