package metrics

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/seed-b2c684ed/goka/internal/table"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gather returns every sample of g as "name{k=v,...}" -> value, histograms
// as their sample count.
func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	out := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			out[f.GetName()+labelString(m)] = value(m)
		}
	}
	return out
}

func labelString(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(pairs)
	return "{" + strings.Join(pairs, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestNilHandlesAreNoOps(t *testing.T) {
	var p *Processor
	p.Rebalanced()
	p.Error(ErrEmit)
	p.OffsetChecked("in", 1)
	p.OffsetReset("in", 1)
	pp := p.Partition(1, []string{"in"}, []string{"out"})
	assert.Nil(t, pp)
	pp.Consumed("in", 3)
	pp.Emitted("out", 3)
	assert.Zero(t, pp.Begin(), "no clock read when off")
	pp.CallbackDone("in", 0)
	pp.Watch(&Source{})()

	var v *View
	v.Watch(0, fakeTable{})()

	var e *Emitter
	assert.Zero(t, e.Begin())
	e.Done(0, 1, nil)
	e.Failed()

	for _, build := range []func() (any, error){
		func() (any, error) { return NewProcessor(nil, "g") },
		func() (any, error) { return NewView(nil, "t") },
		func() (any, error) { return NewEmitter(nil, "t") },
	} {
		h, err := build()
		require.NoError(t, err)
		assert.True(t, fmt.Sprint(h) == "<nil>", "a nil registry gives a nil handle")
	}
}

func TestProcessorCountersAndSharing(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, err := NewProcessor(reg, "a")
	require.NoError(t, err)
	b, err := NewProcessor(reg, "b")
	require.NoError(t, err, "a second group on one registry")
	a2, err := NewProcessor(reg, "a")
	require.NoError(t, err, "a second instance of a group on one registry")

	pa := a.Partition(0, []string{"in"}, []string{"out", "a-table"})
	pa.Consumed("in", 5)
	pa.Consumed("in", 7)
	pa.CallbackDone("in", pa.Begin())
	pa.Emitted("out", 2)
	pa.Emitted("a-table", 4)
	pa.Emitted("undeclared", 1)
	a2.Partition(0, []string{"in"}, nil).Consumed("in", 1)
	b.Partition(3, []string{"in"}, nil).Consumed("in", 9)
	a.Rebalanced()
	b.Error(ErrSetup)
	a.OffsetChecked("in", 0)
	a.OffsetChecked("in", 1)
	a2.OffsetReset("in", 1)
	b.OffsetChecked("in", 3)

	got := gather(t, reg)
	for name, want := range map[string]float64{
		"goka_processor_messages_consumed_total{group=a,partition=0,topic=in}":        3,
		"goka_processor_consumed_bytes_total{group=a,partition=0,topic=in}":           13,
		"goka_processor_messages_consumed_total{group=b,partition=3,topic=in}":        1,
		"goka_processor_callback_duration_seconds{group=a,topic=in}":                  1,
		"goka_processor_messages_emitted_total{group=a,partition=0,topic=out}":        1,
		"goka_processor_emitted_bytes_total{group=a,partition=0,topic=a-table}":       4,
		"goka_processor_messages_emitted_total{group=a,partition=0,topic=undeclared}": 1,
		"goka_processor_rebalances_total{group=a}":                                    1,
		"goka_processor_rebalances_total{group=b}":                                    0,
		"goka_processor_errors_total{group=b,kind=setup}":                             1,
		"goka_processor_errors_total{group=a,kind=processing}":                        0,
		"goka_processor_partitions{group=a,mode=active}":                              0,
		"goka_processor_partitions{group=b,mode=passive}":                             0,
	} {
		assert.Equal(t, want, got[name], name)
		assert.Contains(t, got, name)
	}
}

func TestWrappedRegisterer(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"app": "x"}, reg)
	for range 2 {
		m, err := NewProcessor(wrapped, "g")
		require.NoError(t, err)
		m.Partition(0, []string{"in"}, nil).Consumed("in", 1)
		_, err = NewEmitter(wrapped, "out")
		require.NoError(t, err)
		_, err = NewView(wrapped, "tbl")
		require.NoError(t, err)
	}
	assert.Equal(t, 2.0, gather(t, reg)["goka_processor_messages_consumed_total{app=x,group=g,partition=0,topic=in}"])
}

func TestConflictingRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "goka_processor_rebalances_total", Help: "other"}))
	_, err := NewProcessor(reg, "g")
	require.Error(t, err)
	assert.True(t, errors.As(err, new(prometheus.AlreadyRegisteredError)) || strings.Contains(err.Error(), "goka_processor_rebalances_total"))

	reg = prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "goka_emitter_errors_total", Help: "other"}))
	_, err = NewEmitter(reg, "t")
	require.Error(t, err)
}

type fakeTable struct{ s table.Stats }

func (f fakeTable) Stats() table.Stats { return f.s }

func TestProcessorStateGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewProcessor(reg, "g")
	require.NoError(t, err)
	start := time.Now().Add(-time.Minute)
	restoring := fakeTable{table.Stats{Recovery: table.RecoveryStats{StartTime: start, Offset: 24, Hwm: 100}, Input: table.InputStats{OffsetLag: 75}}}
	lags := func(report func(string, int64)) { report("in", 42) }

	m.WatchRowCache(func() int64 { return 4096 })
	deferred := func() time.Duration { return 90 * time.Second }
	stopActive := m.Partition(0, nil, nil).Watch(&Source{Mode: ModeActive, Lags: lags, Tables: map[string]TableStats{"g-table": restoring}, OldestDeferred: deferred})
	stopPassive := m.Partition(1, nil, nil).Watch(&Source{Mode: ModePassive, Tables: map[string]TableStats{"g-table": fakeTable{}}})
	// Another instance's standby copy of partition 0: the active one wins.
	stopShadow := m.Partition(0, nil, nil).Watch(&Source{Mode: ModePassive, Tables: map[string]TableStats{"g-table": fakeTable{}}})
	stopWarm := m.Partition(2, nil, nil).Watch(&Source{Mode: ModeRecover})

	got := gather(t, reg)
	assert.Equal(t, 42.0, got["goka_processor_consumer_lag{group=g,partition=0,topic=in}"])
	assert.Equal(t, 90.0, got["goka_processor_oldest_deferred_commit_seconds{group=g,partition=0}"])
	assert.Equal(t, 4096.0, got["goka_processor_row_cache_bytes{group=g}"])
	assert.NotContains(t, got, "goka_processor_oldest_deferred_commit_seconds{group=g,partition=1}", "a standby runs no callback")
	assert.Equal(t, 0.25, got["goka_processor_table_recovery_progress{group=g,partition=0,topic=g-table}"])
	assert.Equal(t, 75.0, got["goka_processor_table_lag{group=g,partition=0,topic=g-table}"])
	assert.GreaterOrEqual(t, got["goka_processor_table_recovery_duration_seconds{group=g,partition=0,topic=g-table}"], 60.0)
	assert.Equal(t, 0.0, got["goka_processor_table_recovery_progress{group=g,partition=1,topic=g-table}"], "not started")
	assert.NotContains(t, got, "goka_processor_table_recovery_duration_seconds{group=g,partition=1,topic=g-table}")
	assert.Equal(t, 1.0, got["goka_processor_partitions{group=g,mode=active}"])
	assert.Equal(t, 1.0, got["goka_processor_partitions{group=g,mode=passive}"], "the warm-up is not counted")

	stopActive()
	stopActive()
	stopPassive()
	got = gather(t, reg)
	assert.NotContains(t, got, "goka_processor_consumer_lag{group=g,partition=0,topic=in}")
	assert.NotContains(t, got, "goka_processor_oldest_deferred_commit_seconds{group=g,partition=0}")
	assert.Equal(t, 0.0, got["goka_processor_partitions{group=g,mode=active}"])
	assert.Equal(t, 1.0, got["goka_processor_partitions{group=g,mode=passive}"], "the shadow copy remains")
	stopShadow()
	stopWarm()
	got = gather(t, reg)
	assert.Equal(t, 0.0, got["goka_processor_partitions{group=g,mode=passive}"])
	assert.NotContains(t, got, "goka_processor_table_lag{group=g,partition=0,topic=g-table}")
}

func TestViewGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	v, err := NewView(reg, "tbl")
	require.NoError(t, err)
	other, err := NewView(reg, "tbl")
	require.NoError(t, err)
	now := time.Now()
	running := fakeTable{table.Stats{
		Status:   table.Running,
		Recovery: table.RecoveryStats{StartTime: now.Add(-3 * time.Second), RecoveryTime: now, Offset: 9, Hwm: 10},
		Input:    table.InputStats{Count: 12, Bytes: 120, OffsetLag: 2},
	}}
	stop := v.Watch(0, running)
	stopOther := other.Watch(0, fakeTable{})
	got := gather(t, reg)
	assert.Equal(t, float64(table.Running), got["goka_view_partition_state{partition=0,topic=tbl}"])
	assert.Equal(t, 2.0, got["goka_view_partition_lag{partition=0,topic=tbl}"])
	assert.Equal(t, 1.0, got["goka_view_recovery_progress{partition=0,topic=tbl}"])
	assert.InDelta(t, 3.0, got["goka_view_recovery_duration_seconds{partition=0,topic=tbl}"], 0.001)
	assert.Equal(t, 12.0, got["goka_view_messages_consumed_total{partition=0,topic=tbl}"])
	assert.Equal(t, 120.0, got["goka_view_consumed_bytes_total{partition=0,topic=tbl}"])
	stop()
	assert.Equal(t, 0.0, gather(t, reg)["goka_view_messages_consumed_total{partition=0,topic=tbl}"], "the other view remains")
	stopOther()
	assert.NotContains(t, gather(t, reg), "goka_view_partition_state{partition=0,topic=tbl}")
}

func TestEmitterMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, err := NewEmitter(reg, "a")
	require.NoError(t, err)
	b, err := NewEmitter(reg, "b")
	require.NoError(t, err)
	a.Done(a.Begin(), 10, nil)
	a.Done(a.Begin(), 5, nil)
	a.Done(a.Begin(), 5, errors.New("refused"))
	b.Failed()
	got := gather(t, reg)
	assert.Equal(t, 2.0, got["goka_emitter_messages_emitted_total{topic=a}"])
	assert.Equal(t, 15.0, got["goka_emitter_emitted_bytes_total{topic=a}"])
	assert.Equal(t, 1.0, got["goka_emitter_errors_total{topic=a}"])
	assert.Equal(t, 3.0, got["goka_emitter_emit_duration_seconds{topic=a}"])
	assert.Equal(t, 1.0, got["goka_emitter_errors_total{topic=b}"])
}

func TestRecoveryProgress(t *testing.T) {
	start := time.Unix(100, 0)
	tests := []struct {
		name string
		rec  table.RecoveryStats
		want float64
	}{
		{name: "not started", rec: table.RecoveryStats{}, want: 0},
		{name: "empty topic", rec: table.RecoveryStats{StartTime: start, Offset: -1, Hwm: 0}, want: 1},
		{name: "half", rec: table.RecoveryStats{StartTime: start, Offset: 49, Hwm: 100}, want: 0.5},
		{name: "before the first record", rec: table.RecoveryStats{StartTime: start, Offset: -1, Hwm: 100}, want: 0},
		{name: "done", rec: table.RecoveryStats{StartTime: start, RecoveryTime: start.Add(time.Second), Offset: 10, Hwm: 100}, want: 1},
		{name: "clamped", rec: table.RecoveryStats{StartTime: start, Offset: 500, Hwm: 100}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, recoveryProgress(table.Stats{Recovery: tt.rec}))
		})
	}
}

func TestRecoveryDuration(t *testing.T) {
	start := time.Unix(100, 0)
	now := start.Add(10 * time.Second)
	tests := []struct {
		name   string
		rec    table.RecoveryStats
		want   float64
		wantOK bool
	}{
		{name: "not started", rec: table.RecoveryStats{}},
		{name: "running", rec: table.RecoveryStats{StartTime: start}, want: 10, wantOK: true},
		{name: "done", rec: table.RecoveryStats{StartTime: start, RecoveryTime: start.Add(2 * time.Second)}, want: 2, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := recoveryDuration(table.Stats{Recovery: tt.rec}, now)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
