package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/syndtr/goleveldb/leveldb"
)

// tableSpec describes a group table to pre-produce and restore.
type tableSpec struct {
	name  string     // row prefix: recovery or recovery-1m
	n     int        // table messages
	keys  int        // key space; message i has key i % keys
	codec goka.Codec // the group table's codec
	gen   func(i int) record
	// check says what Get must return for the last key.
	check func(v any) error
}

// recoveryWorkload restores a counting processor's int64 group table of RecN
// messages over RecKeys keys.
func recoveryWorkload(ctx context.Context, e *env) ([]result, error) {
	s := e.opts.sizes
	keys, n := s.RecKeys, s.RecN
	int64Codec := new(codec.Int64)
	spec := tableSpec{
		name: "recovery", n: n, keys: keys, codec: int64Codec,
		gen: func(i int) record {
			// The table of a counter: the i-th message of a key holds its
			// i-th count.
			value, _ := int64Codec.Encode(int64(i/keys + 1))
			return record{keyOf(i % keys), value}
		},
		check: func(v any) error {
			// The last key, keys-1, was counted (n-1-(keys-1))/keys+1 times.
			want := int64((n-keys)/keys + 1)
			if got, ok := v.(int64); !ok || got != want {
				return fmt.Errorf("last key holds %v, want %d", v, want)
			}
			return nil
		},
	}
	if n < keys {
		spec.check = func(any) error { return nil }
	}
	return e.recovery(ctx, spec)
}

// recovery1MWorkload restores Rec1MN distinct keys of Rec1MValue bytes each,
// to show that restoring does not hold the table in memory.
func recovery1MWorkload(ctx context.Context, e *env) ([]result, error) {
	s := e.opts.sizes
	size := s.Rec1MValue
	spec := tableSpec{
		name: "recovery-1m", n: s.Rec1MN, keys: s.Rec1MN, codec: new(codec.Bytes),
		gen: func(i int) record { return record{keyOf(i), pseudoRandom(i, size)} },
		check: func(v any) error {
			if b, ok := v.([]byte); !ok || len(b) != size {
				return fmt.Errorf("last key holds %T of %d bytes, want %d", v, len(b), size)
			}
			return nil
		},
	}
	return e.recovery(ctx, spec)
}

// pseudoRandom returns size bytes that depend on i and compress as badly as
// real payloads: a constant filler would let snappy and LevelDB shrink the
// table to nothing.
func pseudoRandom(i, size int) []byte {
	b := make([]byte, size+8)
	x := uint64(i)*0x9E3779B97F4A7C15 + 1
	for j := 0; j < size; j += 8 {
		// splitmix64
		x += 0x9E3779B97F4A7C15
		z := x
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		binary.LittleEndian.PutUint64(b[j:], z^(z>>31))
	}
	return b[:size]
}

// recovery pre-produces the table of spec and restores it with a fresh
// processor and a fresh view, each into empty LevelDB stores, against a raw
// sarama consumer reading every partition to its end and raw goleveldb batch
// writes of the same records.
func (e *env) recovery(ctx context.Context, spec tableSpec) ([]result, error) {
	parts := e.opts.sizes.Partitions
	group := e.group(spec.name)
	table := string(goka.GroupTable(goka.Group(group)))
	input := e.name(spec.name + "-input")
	if err := e.createTopic(input, parts, false); err != nil {
		return nil, err
	}
	if err := e.createTopic(table, parts, true); err != nil {
		return nil, err
	}
	if err := e.produce(table, spec.n, spec.gen); err != nil {
		return nil, err
	}

	consumer := &measurement{name: "raw consumer", run: func() (timing, error) { return e.rawRestore(ctx, table, spec.n) }}
	def := e.defaults()
	consumerDef := &measurement{name: "raw consumer, sarama defaults", run: func() (timing, error) { return def.rawRestore(ctx, table, spec.n) }}
	db := &measurement{name: "raw goleveldb", run: func() (timing, error) { return e.rawLevelDB(spec, parts) }}
	proc := &measurement{name: "processor", run: func() (timing, error) { return e.recoverProcessor(ctx, spec, group, input) }}
	view := &measurement{name: "view", run: func() (timing, error) { return e.recoverView(ctx, spec, table) }}
	if err := measureAll(e.opts.runs, consumer, consumerDef, db, proc, view); err != nil {
		return nil, err
	}

	note := fmt.Sprintf("%d table messages, %d keys, %d partitions", spec.n, spec.keys, parts)
	rp := newResult(spec.name+"-processor", "msgs/s", proc.best)
	rp.addBaselinePair("sarama consumer, all partitions", consumerDef.best, consumer.best)
	rp.addBaseline("goleveldb batches", db.best)
	rp.Note = note + "; Run to WaitForReady"
	rv := newResult(spec.name+"-view", "msgs/s", view.best)
	rv.addBaselinePair("sarama consumer, all partitions", consumerDef.best, consumer.best)
	rv.addBaseline("goleveldb batches", db.best)
	rv.Note = note + "; Run to WaitRecovered"
	return []result{rp, rv}, nil
}

// recoverProcessor times a fresh processor of the table's group from Run
// until WaitForReady returns.
func (e *env) recoverProcessor(ctx context.Context, spec tableSpec, group, input string) (timing, error) {
	dir, cleanup, err := tempDir("recover-proc")
	if err != nil {
		return timing{}, err
	}
	defer cleanup()
	gg := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.String), func(goka.Context, any) {}),
		goka.Persist(spec.codec))
	w := openMemWindow()
	proc, err := goka.NewProcessor(e.brokers, gg, e.processorOptions(dir)...)
	if err != nil {
		return timing{}, err
	}
	run, elapsed, mem, err := e.runUntilReady(ctx, proc, spec.name+"-processor", w)
	if err == nil {
		err = checkLast(proc.Get, spec)
	}
	return timing{count: int64(spec.n), elapsed: elapsed, mem: mem}, errors.Join(err, run.stop())
}

// recoverView times a fresh view of the table from Run until WaitRecovered
// returns.
func (e *env) recoverView(ctx context.Context, spec tableSpec, table string) (timing, error) {
	dir, cleanup, err := tempDir("recover-view")
	if err != nil {
		return timing{}, err
	}
	defer cleanup()
	w := openMemWindow()
	view, err := goka.NewView(e.brokers, goka.Table(table), spec.codec, e.viewOptions(dir)...)
	if err != nil {
		return timing{}, err
	}
	stopProfiles := e.startProfiles(spec.name + "-view")
	start := time.Now()
	run := runInBackground(ctx, view.Run)
	ready := make(chan struct{})
	readyErr := make(chan error, 1)
	go func() {
		readyErr <- view.WaitRecovered(ctx)
		close(ready)
	}()
	err = run.await(ctx, ready, "WaitRecovered")
	elapsed := time.Since(start)
	stopProfiles()
	mem := w.close()
	if err == nil {
		err = <-readyErr
	}
	if err == nil {
		err = checkLast(view.Get, spec)
	}
	return timing{count: int64(spec.n), elapsed: elapsed, mem: mem}, errors.Join(err, run.stop())
}

// checkLast reads the last key of the table, as a guard against timing a
// restore that did not happen.
func checkLast(get goka.Getter, spec tableSpec) error {
	key := keyOf(spec.keys - 1)
	v, err := get(key)
	if err != nil {
		return fmt.Errorf("reading %s after recovery: %w", key, err)
	}
	if err := spec.check(v); err != nil {
		return fmt.Errorf("after recovery: %w", err)
	}
	return nil
}

// rawRestore times a sarama consumer reading every partition of topic from
// the oldest offset to its high-water mark, in parallel, from building the
// client to the last message.
func (e *env) rawRestore(ctx context.Context, topic string, n int) (timing, error) {
	w := openMemWindow()
	start := time.Now()
	client, err := sarama.NewClient(e.brokers, e.config())
	if err != nil {
		return timing{}, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return timing{}, err
	}
	defer consumer.Close()
	ends, err := hwms(client, topic)
	if err != nil {
		return timing{}, err
	}
	var wg sync.WaitGroup
	counts := make(chan int64, len(ends))
	errs := make(chan error, len(ends))
	for p, end := range ends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := drainPartition(ctx, consumer, topic, p, end)
			counts <- c
			errs <- err
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	mem := w.close()
	close(counts)
	close(errs)
	var total int64
	for c := range counts {
		total += c
	}
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return timing{}, err
	}
	if total != int64(n) {
		return timing{}, fmt.Errorf("read %d messages, want %d", total, n)
	}
	return timing{count: total, elapsed: elapsed, mem: mem}, nil
}

// drainPartition reads a partition from the oldest offset up to end.
func drainPartition(ctx context.Context, consumer sarama.Consumer, topic string, partition int32, end int64) (int64, error) {
	if end == 0 {
		return 0, nil
	}
	pc, err := consumer.ConsumePartition(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return 0, fmt.Errorf("consuming %s/%d: %w", topic, partition, err)
	}
	defer pc.Close()
	var count int64
	for {
		select {
		case msg := <-pc.Messages():
			count++
			if msg.Offset+1 >= end {
				return count, nil
			}
		case cerr := <-pc.Errors():
			return count, fmt.Errorf("consuming %s/%d: %w", topic, partition, cerr)
		case <-ctx.Done():
			return count, ctx.Err()
		}
	}
}

// rawLevelDB times what restoring does to the disk at the least: every
// record of the table written into one goleveldb database per partition, in
// parallel, in batches of the table package's default size (4096) with the
// partition offset in each batch. The records are generated in the timed
// loop, which costs little next to the writes.
func (e *env) rawLevelDB(spec tableSpec, parts int) (timing, error) {
	dir, cleanup, err := tempDir("raw-leveldb")
	if err != nil {
		return timing{}, err
	}
	defer cleanup()
	byPartition := make([][]int32, parts)
	for i := range spec.n {
		p := partitionOf(keyOf(i%spec.keys), int32(parts))
		byPartition[p] = append(byPartition[p], int32(i))
	}
	w := openMemWindow()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, parts)
	dbs := make([]storage.Storage, parts)
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[p], errs[p] = writePartition(filepath.Join(dir, strconv.Itoa(p)), byPartition[p], spec.gen)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	mem := w.close()
	for _, db := range dbs {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return timing{count: int64(spec.n), elapsed: elapsed, mem: mem}, errors.Join(errs...)
}

const rawBatchRecords = 4096

// writePartition writes through storage.New's batch path, so that the data
// and the offset land in the store's own layout, as a restore writes them.
func writePartition(path string, records []int32, gen func(int) record) (storage.Storage, error) {
	ldb, err := leveldb.OpenFile(path, nil)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db, err := storage.New(ldb)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	var batch storage.Batch
	for start := 0; start < len(records); start += rawBatchRecords {
		end := min(start+rawBatchRecords, len(records))
		batch.Reset()
		for _, i := range records[start:end] {
			r := gen(int(i))
			batch.Set(r.key, r.value)
		}
		batch.SetOffset(int64(end - 1))
		if err := storage.WriteBatch(db, &batch); err != nil {
			return db, fmt.Errorf("writing to %s: %w", path, err)
		}
	}
	return db, nil
}

// partitionOf places key as the library's default hasher and sarama's
// partitioner do.
func partitionOf(key string, parts int32) int32 {
	h := goka.DefaultHasher()()
	h.Write([]byte(key))
	p := int32(h.Sum32()) % parts
	if p < 0 {
		p = -p
	}
	return p
}

// runUntilReady starts proc in the background with the phase's profiles and
// waits until WaitForReady returns: it gives the run, to be stopped, the time
// it took, the peak memory of w, and the first error of the two.
func (e *env) runUntilReady(ctx context.Context, proc *goka.Processor, phase string, w memWindow) (*background, time.Duration, memStats, error) {
	stopProfiles := e.startProfiles(phase)
	start := time.Now()
	run := runInBackground(ctx, proc.Run)
	ready := make(chan struct{})
	readyErr := make(chan error, 1)
	go func() {
		readyErr <- proc.WaitForReadyContext(ctx)
		close(ready)
	}()
	err := run.await(ctx, ready, "WaitForReady")
	elapsed := time.Since(start)
	stopProfiles()
	mem := w.close()
	if err == nil {
		err = <-readyErr
	}
	return run, elapsed, mem, err
}
