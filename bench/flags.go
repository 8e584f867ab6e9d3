package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"
)

// sizes are the knobs of the workloads. Each has a default that finishes in
// under a minute on a 2-core machine with the embedded broker, and a -quick
// value for a smoke run.
type sizes struct {
	EmitN      int `json:"emit_n"`      // async emits
	EmitSyncN  int `json:"emitsync_n"`  // sequential EmitSync calls
	ProcN      int `json:"proc_n"`      // input messages of the processor
	Keys       int `json:"keys"`        // key space of processor and emitter
	Partitions int `json:"partitions"`  // partitions of every topic
	ValueSize  int `json:"value_size"`  // bytes of each emitted or input value
	RecN       int `json:"rec_n"`       // table messages to recover
	RecKeys    int `json:"rec_keys"`    // key space of the recovered table
	ViewKeys   int `json:"view_keys"`   // keys of the table views read
	ViewG      int `json:"view_g"`      // reading goroutines
	ViewDur    dur `json:"view_dur"`    // how long each read phase lasts
	TesterN    int `json:"tester_n"`    // tester Consume calls
	Rec1MN     int `json:"rec1m_n"`     // keys (and messages) of recovery-1m
	Rec1MValue int `json:"rec1m_value"` // value bytes of recovery-1m
	FreshDur   dur `json:"fresh_dur"`   // view-freshness: steady window of each run
	FreshWin   dur `json:"fresh_win"`   // view-freshness: window after recovery
	LatDur     dur `json:"lat_dur"`     // processor-latency: paced input of each run
	ManyParts  int `json:"many_parts"`  // many-partitions: partitions of each topic
	ManyN      int `json:"many_n"`      // many-partitions: messages of each table
}

// dur is a time.Duration that shows as "3s" in JSON.
type dur time.Duration

func (d dur) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *dur) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("parsing duration: %w", err)
	}
	*d = dur(v)
	return nil
}

func defaultSizes() sizes {
	return sizes{
		EmitN: 500_000, EmitSyncN: 50, ProcN: 500_000, Keys: 1000, Partitions: 8, ValueSize: 100,
		RecN: 1_000_000, RecKeys: 100_000, ViewKeys: 100_000, ViewG: 8, ViewDur: dur(3 * time.Second),
		TesterN: 200_000, Rec1MN: 1_000_000, Rec1MValue: 100,
		FreshDur: dur(3 * time.Second), FreshWin: dur(time.Second), LatDur: dur(5 * time.Second),
		ManyParts: 64, ManyN: 100_000,
	}
}

func quickSizes() sizes {
	return sizes{
		EmitN: 5_000, EmitSyncN: 20, ProcN: 5_000, Keys: 100, Partitions: 4, ValueSize: 100,
		RecN: 10_000, RecKeys: 2_000, ViewKeys: 2_000, ViewG: 4, ViewDur: dur(500 * time.Millisecond),
		TesterN: 500, Rec1MN: 20_000, Rec1MValue: 100,
		FreshDur: dur(time.Second), FreshWin: dur(time.Second), LatDur: dur(time.Second),
		ManyParts: 16, ManyN: 2_000,
	}
}

// options is everything the command line sets.
type options struct {
	brokers    []string
	only       []string
	quick      bool
	jsonPath   string
	fork       bool
	child      bool
	runID      string
	cpuProfile string
	memProfile string
	mutexProf  string
	blockProf  string
	flush      time.Duration
	verbose    bool
	timeout    time.Duration
	runs       int
	sizes      sizes

	// passOn are the flags a child inherits, as "-name=value".
	passOn []string
}

// defaultWorkloads run when -only is not given; recovery-1m, durability and
// the latency and many-partitions workloads take long and run only on
// request.
var defaultWorkloads = []string{"emitter", "processor", "recovery", "view-reads", "tester"}

// allWorkloads are the names -only accepts, in the order they run.
var allWorkloads = append(slices.Clone(defaultWorkloads), "recovery-1m", "durability", "view-freshness", "processor-latency", "many-partitions", "processor-exactly-once", "processor-latency-exactly-once")

// notPassedOn are the flags the parent handles itself.
var notPassedOn = map[string]bool{"only": true, "json": true, "fork": true, "child": true, "brokers": true, "runid": true}

func parseFlags(fs *flag.FlagSet, args []string) (*options, error) {
	o := &options{}
	var brokers, only string
	fs.StringVar(&brokers, "brokers", "", "comma-separated Kafka brokers; empty: an embedded kafkatest broker")
	fs.StringVar(&only, "only", "", "comma-separated workloads to run (default "+strings.Join(defaultWorkloads, ",")+"; also recovery-1m, and durability: processor and emitter with DefaultConfig and with WaitForLocal without idempotence, each beside its sarama baseline configured alike)")
	fs.BoolVar(&o.quick, "quick", false, "tiny sizes for a smoke run; explicit size flags still win")
	fs.StringVar(&o.jsonPath, "json", "", "write the results as JSON here (default bench/results/<timestamp>.json; \"-\" for none)")
	fs.BoolVar(&o.fork, "fork", true, "run each workload in a child process, so its peak RSS is its own")
	fs.BoolVar(&o.child, "child", false, "internal: run the workloads in this process and write JSON results to stdout")
	fs.StringVar(&o.runID, "runid", "", "internal: prefix of topic and group names")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each library phase to this path, with the phase name inserted before the extension")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile at the end of each library phase, named like -cpuprofile's")
	fs.StringVar(&o.mutexProf, "mutexprofile", "", "write a mutex contention profile of each library phase, named like -cpuprofile's")
	fs.StringVar(&o.blockProf, "blockprofile", "", "write a blocking profile (channels, selects, locks) of each library phase, named like -cpuprofile's")
	fs.DurationVar(&o.flush, "flush", 0, "override Producer.Flush.Frequency of library and baselines alike (0: the library's default)")
	fs.BoolVar(&o.verbose, "v", false, "let the library log to stderr")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up on a workload after this long")
	fs.IntVar(&o.runs, "runs", 3, "run every measurement this many times, interleaved, and keep the fastest (-quick: 1)")

	s := defaultSizes()
	fs.IntVar(&s.EmitN, "emit-n", s.EmitN, "emitter: asynchronous emits")
	fs.IntVar(&s.EmitSyncN, "emitsync-n", s.EmitSyncN, "emitter: sequential EmitSync calls for the latency")
	fs.IntVar(&s.ProcN, "proc-n", s.ProcN, "processor: pre-produced input messages")
	fs.IntVar(&s.Keys, "keys", s.Keys, "emitter, processor: key space")
	fs.IntVar(&s.Partitions, "partitions", s.Partitions, "partitions of every topic")
	fs.IntVar(&s.ValueSize, "value-size", s.ValueSize, "emitter, processor: bytes per value")
	fs.IntVar(&s.RecN, "rec-n", s.RecN, "recovery: table messages")
	fs.IntVar(&s.RecKeys, "rec-keys", s.RecKeys, "recovery: key space of the table")
	fs.IntVar(&s.ViewKeys, "view-keys", s.ViewKeys, "view-reads: keys in the table")
	fs.IntVar(&s.ViewG, "view-g", s.ViewG, "view-reads: reading goroutines")
	viewDur := time.Duration(s.ViewDur)
	fs.DurationVar(&viewDur, "view-dur", viewDur, "view-reads: duration of each read phase")
	fs.IntVar(&s.TesterN, "tester-n", s.TesterN, "tester: Consume calls")
	fs.IntVar(&s.Rec1MN, "rec1m-n", s.Rec1MN, "recovery-1m: keys, one message each")
	fs.IntVar(&s.Rec1MValue, "rec1m-value", s.Rec1MValue, "recovery-1m: value bytes")
	freshDur, freshWin, latDur := time.Duration(s.FreshDur), time.Duration(s.FreshWin), time.Duration(s.LatDur)
	fs.DurationVar(&freshDur, "fresh-dur", freshDur, "view-freshness: the steady window of each run")
	fs.DurationVar(&freshWin, "fresh-win", freshWin, "view-freshness: the window after the view reports recovered, and the pause before the steady window")
	fs.DurationVar(&latDur, "lat-dur", latDur, "processor-latency: how long each run writes input")
	fs.IntVar(&s.ManyParts, "many-parts", s.ManyParts, "many-partitions: partitions of the group table, both joins and the input")
	fs.IntVar(&s.ManyN, "many-n", s.ManyN, "many-partitions: messages (distinct keys) of each of the three tables")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	s.ViewDur = dur(viewDur)
	s.FreshDur, s.FreshWin, s.LatDur = dur(freshDur), dur(freshWin), dur(latDur)

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if !notPassedOn[f.Name] {
			o.passOn = append(o.passOn, "-"+f.Name+"="+f.Value.String())
		}
	})
	if o.quick {
		s = withQuick(s, set)
		if !set["runs"] {
			o.runs = 1
		}
	}
	o.sizes = s
	if err := s.validate(); err != nil {
		return nil, err
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("%w: -runs must be at least 1, got %d", errSize, o.runs)
	}

	if brokers != "" {
		o.brokers = strings.Split(brokers, ",")
	}
	o.only = defaultWorkloads
	if only != "" {
		o.only = strings.Split(only, ",")
		for _, w := range o.only {
			if !slices.Contains(allWorkloads, w) {
				return nil, fmt.Errorf("unknown workload %q (known: %s)", w, strings.Join(allWorkloads, ", "))
			}
		}
	}
	return o, nil
}

// withQuick takes the quick value of every size whose flag was not given.
func withQuick(s sizes, set map[string]bool) sizes {
	q := quickSizes()
	pick := func(flag string, dst *int, v int) {
		if !set[flag] {
			*dst = v
		}
	}
	pick("emit-n", &s.EmitN, q.EmitN)
	pick("emitsync-n", &s.EmitSyncN, q.EmitSyncN)
	pick("proc-n", &s.ProcN, q.ProcN)
	pick("keys", &s.Keys, q.Keys)
	pick("partitions", &s.Partitions, q.Partitions)
	pick("value-size", &s.ValueSize, q.ValueSize)
	pick("rec-n", &s.RecN, q.RecN)
	pick("rec-keys", &s.RecKeys, q.RecKeys)
	pick("view-keys", &s.ViewKeys, q.ViewKeys)
	pick("view-g", &s.ViewG, q.ViewG)
	pick("tester-n", &s.TesterN, q.TesterN)
	pick("rec1m-n", &s.Rec1MN, q.Rec1MN)
	pick("rec1m-value", &s.Rec1MValue, q.Rec1MValue)
	pick("many-parts", &s.ManyParts, q.ManyParts)
	pick("many-n", &s.ManyN, q.ManyN)
	pickDur := func(flag string, dst *dur, v dur) {
		if !set[flag] {
			*dst = v
		}
	}
	pickDur("view-dur", &s.ViewDur, q.ViewDur)
	pickDur("fresh-dur", &s.FreshDur, q.FreshDur)
	pickDur("fresh-win", &s.FreshWin, q.FreshWin)
	pickDur("lat-dur", &s.LatDur, q.LatDur)
	return s
}

var errSize = errors.New("invalid size")

func (s sizes) validate() error {
	for name, v := range map[string]int{
		"emit-n": s.EmitN, "emitsync-n": s.EmitSyncN, "proc-n": s.ProcN, "keys": s.Keys,
		"partitions": s.Partitions, "value-size": s.ValueSize, "rec-n": s.RecN, "rec-keys": s.RecKeys,
		"view-keys": s.ViewKeys, "view-g": s.ViewG, "tester-n": s.TesterN, "rec1m-n": s.Rec1MN,
		"rec1m-value": s.Rec1MValue, "many-parts": s.ManyParts, "many-n": s.ManyN,
	} {
		if v < 1 {
			return fmt.Errorf("%w: -%s must be at least 1, got %d", errSize, name, v)
		}
	}
	for name, v := range map[string]dur{"view-dur": s.ViewDur, "fresh-dur": s.FreshDur, "fresh-win": s.FreshWin, "lat-dur": s.LatDur} {
		if v <= 0 {
			return fmt.Errorf("%w: -%s must be positive", errSize, name)
		}
	}
	return nil
}
