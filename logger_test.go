package goka

import (
	"fmt"
	"log"
	"os"
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
	def, ok := wrapLogger(nil).(*prefixLogger)
	require.True(t, ok)
	assert.Same(t, DefaultLogger(), def.out)

	wrapped := wrapLogger(&recordingLogger{})
	assert.Same(t, wrapped, wrapLogger(wrapped), "wrapping twice must not stack wrappers")
}

func TestDefaultLogger(t *testing.T) {
	l, ok := DefaultLogger().(*log.Logger)
	require.True(t, ok)
	assert.Equal(t, log.LstdFlags, l.Flags())
	assert.Same(t, os.Stderr, l.Writer())
	assert.Empty(t, l.Prefix())
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
