package goka

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// Logger is what the library logs through. *log.Logger satisfies it, and so
// does sarama's StdLogger, so one logger can serve both.
type Logger interface {
	Print(v ...interface{})
	Println(v ...interface{})
	Printf(format string, v ...interface{})
}

// stdLogger is the logger of DefaultLogger, shared so that every component
// logs to the same place unless told otherwise.
var stdLogger Logger = log.New(os.Stderr, "", log.LstdFlags)

// debugEnabled switches on the Debugf output of every internal logger.
var debugEnabled atomic.Bool

// DefaultLogger returns the logger the library uses when none is given: the
// standard library logger writing to stderr with date and time.
func DefaultLogger() Logger {
	return stdLogger
}

// Debug switches the library's debug messages on or off and, with
// saramaDebug, makes sarama log to stderr with the prefix "[Sarama] ".
//
// Unlike goka, where a logger passed in an option keeps the debug setting of
// the moment it was passed, the setting applies at once to every logger the
// library uses, including ones given earlier.
func Debug(gokaDebug, saramaDebug bool) {
	debugEnabled.Store(gokaDebug)
	if saramaDebug {
		SetSaramaLogger(log.New(os.Stderr, "[Sarama] ", log.LstdFlags))
	}
}

// SetSaramaLogger makes sarama log to logger. A nil logger silences sarama,
// which is its default; sarama itself would panic on nil.
func SetSaramaLogger(logger Logger) {
	if logger == nil {
		sarama.Logger = log.New(io.Discard, "", 0)
		return
	}
	sarama.Logger = logger
}

// logger is the library's internal logger: a Logger with debug output and
// nested prefixes that name the component a line comes from, for example
// "[processor > partition-3] ".
type logger interface {
	Logger
	Debugf(format string, args ...interface{})
	Prefix(prefix string) logger
}

// wrapLogger turns a user's Logger into the internal logger; nil means the
// default logger.
func wrapLogger(l Logger) logger {
	if l == nil {
		l = stdLogger
	}
	if wrapped, ok := l.(*prefixLogger); ok {
		return wrapped
	}
	return &prefixLogger{out: l}
}

type prefixLogger struct {
	out Logger
	// prefixes are the nested names, outermost first.
	prefixes []string
	// rendered is prefixes as they appear at the start of a line, computed once
	// because it is used on every line.
	rendered string
}

func (l *prefixLogger) Prefix(prefix string) logger {
	prefixes := make([]string, len(l.prefixes), len(l.prefixes)+1)
	copy(prefixes, l.prefixes)
	prefixes = append(prefixes, prefix)
	return &prefixLogger{
		out:      l.out,
		prefixes: prefixes,
		rendered: "[" + strings.Join(prefixes, " > ") + "] ",
	}
}

func (l *prefixLogger) Print(v ...interface{}) {
	if l.rendered == "" {
		l.out.Print(v...)
		return
	}
	l.out.Print(l.rendered + fmt.Sprint(v...))
}

func (l *prefixLogger) Println(v ...interface{}) {
	if l.rendered == "" {
		l.out.Println(v...)
		return
	}
	// Sprintln spaces the operands the way Println does; its newline is
	// dropped because the wrapped Println adds one.
	l.out.Println(l.rendered + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

func (l *prefixLogger) Printf(format string, v ...interface{}) {
	if l.rendered == "" {
		l.out.Printf(format, v...)
		return
	}
	// The line is formatted first and the prefix passed as an argument, so
	// neither a '%' in a component name nor explicit argument indexes in
	// format can garble it.
	l.out.Printf("%s%s", l.rendered, fmt.Sprintf(format, v...))
}

func (l *prefixLogger) Debugf(format string, v ...interface{}) {
	if debugEnabled.Load() {
		l.Printf(format, v...)
	}
}
