package goka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingLogger records each call as "<method>|<text>".
type recordingLogger struct {
	mu    sync.Mutex
	lines []string
}

func (r *recordingLogger) record(method, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, method+"|"+text)
}

func (r *recordingLogger) Print(v ...interface{})   { r.record("Print", fmt.Sprint(v...)) }
func (r *recordingLogger) Println(v ...interface{}) { r.record("Println", fmt.Sprintln(v...)) }
func (r *recordingLogger) Printf(format string, v ...interface{}) {
	r.record("Printf", fmt.Sprintf(format, v...))
}

func (r *recordingLogger) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.lines
	r.lines = nil
	return lines
}

func TestLoggerPrefixes(t *testing.T) {
	rec := &recordingLogger{}
	base := wrapLogger(rec)
	a := base.Prefix("A")
	ab := a.Prefix("B")
	// A sibling prefix must not change ab's: slices share arrays.
	ac := a.Prefix("C")

	tests := []struct {
		name string
		log  func()
		want string
	}{
		{name: "no prefix Print", log: func() { base.Print("x", 1) }, want: "Print|x1"},
		{name: "no prefix Println", log: func() { base.Println("x", 1) }, want: "Println|x 1\n"},
		{name: "no prefix Printf", log: func() { base.Printf("n=%d", 3) }, want: "Printf|n=3"},
		{name: "one prefix", log: func() { a.Printf("n=%d", 3) }, want: "Printf|[A] n=3"},
		{name: "nested Print", log: func() { ab.Print("x", 1) }, want: "Print|[A > B] x1"},
		{name: "nested Println spaces operands and ends the line", log: func() { ab.Println("x", 1) }, want: "Println|[A > B] x 1\n"},
		{name: "nested Printf", log: func() { ab.Printf("%s=%d", "n", 3) }, want: "Printf|[A > B] n=3"},
		{name: "sibling", log: func() { ac.Print("y") }, want: "Print|[A > C] y"},
		{name: "percent in prefix", log: func() { base.Prefix("100%").Printf("%d", 1) }, want: "Printf|[100%] 1"},
		{name: "indexed format", log: func() { a.Printf("%[2]s%[1]s", "a", "b") }, want: "Printf|[A] ba"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.log()
			assert.Equal(t, []string{tt.want}, rec.taken())
		})
	}
}

func TestLoggerDebug(t *testing.T) {
	defer debugEnabled.Store(debugEnabled.Load())
	rec := &recordingLogger{}
	l := wrapLogger(rec).Prefix("P")

	Debug(false, false)
	l.Debugf("hidden %d", 1)
	assert.Empty(t, rec.taken())

	// The switch applies to loggers wrapped before it.
	Debug(true, false)
	l.Debugf("shown %d", 2)
	assert.Equal(t, []string{"Printf|[P] shown 2"}, rec.taken())
}

func TestWrapLogger(t *testing.T) {
	assert.Same(t, DefaultLogger(), wrapLogger(nil), "nil is the default logger")
	assert.Same(t, DefaultLogger(), DefaultLogger(), "one default logger")

	wrapped := wrapLogger(&recordingLogger{})
	assert.Same(t, wrapped, wrapLogger(wrapped), "wrapping twice must not stack wrappers")
	structured := NewSlogLogger(nil)
	assert.Same(t, structured, wrapLogger(structured), "a slog logger keeps its fields")
	assert.Same(t, wrapped, wrapped.With("group", "g"), "a text logger drops fields")
}

// jsonLines decodes the JSON records a slog.JSONHandler wrote.
func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var records []map[string]any
	dec := json.NewDecoder(buf)
	for dec.More() {
		var r map[string]any
		require.NoError(t, dec.Decode(&r))
		records = append(records, r)
	}
	return records
}

func TestSlogLoggerFields(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{AddSource: true}))
	root := wrapLogger(NewSlogLogger(base))
	pp := root.Prefix("Processor g").With("group", "g").Prefix("PartitionProcessor (3)").With("partition", int32(3))
	// A sibling must not share the field slice of pp.
	sibling := root.Prefix("Processor g").With("group", "g").With("topic", "t")

	pp.Printf("n=%d", 1)
	pp.Print("a", 1)
	pp.Println("b", 2)
	sibling.Printf("%s", "x")
	root.Printf("plain")

	records := jsonLines(t, &buf)
	require.Len(t, records, 5)
	for _, r := range records[:3] {
		assert.Equal(t, "INFO", r["level"])
		assert.Equal(t, "Processor g > PartitionProcessor (3)", r["component"])
		assert.Equal(t, "g", r["group"])
		assert.Equal(t, 3.0, r["partition"])
		assert.NotContains(t, r, "topic")
		src, ok := r["source"].(map[string]any)
		require.True(t, ok)
		assert.Contains(t, src["file"], "logger_test.go", "the source is the caller")
	}
	assert.Equal(t, []any{"n=1", "a1", "b 2"}, []any{records[0]["msg"], records[1]["msg"], records[2]["msg"]})
	assert.Equal(t, "t", records[3]["topic"])
	assert.NotContains(t, records[3], "partition")
	assert.Equal(t, "plain", records[4]["msg"])
	assert.NotContains(t, records[4], "component")
}

func TestSlogLoggerDebug(t *testing.T) {
	defer debugEnabled.Store(debugEnabled.Load())
	var buf bytes.Buffer
	l := wrapLogger(NewSlogLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	Debug(false, false)
	l.Debugf("hidden")
	assert.Empty(t, buf.String())

	Debug(true, false)
	l.Debugf("shown %d", 1)
	records := jsonLines(t, &buf)
	require.Len(t, records, 1)
	assert.Equal(t, "DEBUG", records[0]["level"])
	assert.Equal(t, "shown 1", records[0]["msg"])
}

func TestDefaultLoggerWritesThroughSlogDefault(t *testing.T) {
	// Not parallel: it swaps the process-wide slog default.
	var buf bytes.Buffer
	saved := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(saved)

	wrapLogger(nil).Prefix("View t").With("topic", "t").Printf("hello")
	records := jsonLines(t, &buf)
	require.Len(t, records, 1)
	assert.Equal(t, "hello", records[0]["msg"])
	assert.Equal(t, "t", records[0]["topic"])
	assert.Equal(t, "View t", records[0]["component"])
}

func TestSaramaLogger(t *testing.T) {
	saved := sarama.Logger
	defer func() { sarama.Logger = saved }()

	rec := &recordingLogger{}
	SetSaramaLogger(rec)
	sarama.Logger.Println("hello")
	assert.Equal(t, []string{"Println|hello\n"}, rec.taken())

	SetSaramaLogger(nil)
	require.NotNil(t, sarama.Logger)
	sarama.Logger.Println("discarded")

	defer debugEnabled.Store(debugEnabled.Load())
	Debug(false, true)
	sl, ok := sarama.Logger.(*log.Logger)
	require.True(t, ok)
	assert.Equal(t, "[Sarama] ", sl.Prefix())
	assert.True(t, strings.HasPrefix(sl.Prefix(), "[Sarama]"))
}
