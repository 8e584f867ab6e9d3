package goka

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// Logger is what the library logs through. *log.Logger satisfies it, and so
// does sarama's StdLogger, so one logger can serve both.
type Logger interface {
	Print(v ...interface{})
	Println(v ...interface{})
	Printf(format string, v ...interface{})
}

// defaultLogger is the logger of DefaultLogger, shared so that every
// component logs to the same place unless told otherwise.
var defaultLogger = &slogLogger{}

// debugEnabled switches on the Debugf output of every internal logger.
var debugEnabled atomic.Bool

// DefaultLogger returns the logger the library uses when none is given. It
// writes through log/slog: every line is a record of slog.Default() (as it
// is when the line is written, so slog.SetDefault redirects it) at level
// Info, with the component that wrote it and structured fields such as
// group, topic and partition as attributes. Unlike goka's, which is the
// standard library logger, it is not a *log.Logger; slog's default handler
// still writes through the standard logger, to stderr with date and time.
func DefaultLogger() Logger {
	return defaultLogger
}

// NewSlogLogger returns a Logger that writes through l like DefaultLogger
// writes through slog.Default(): given to WithLogger, WithViewLogger or
// WithEmitterLogger, it sends the library's lines to l's handler with their
// structured fields. A nil l means slog.Default() at every line.
func NewSlogLogger(l *slog.Logger) Logger {
	return &slogLogger{base: l}
}

// Debug switches the library's debug messages on or off and, with
// saramaDebug, makes sarama log to stderr with the prefix "[Sarama] ".
//
// Unlike goka, where a logger passed in an option keeps the debug setting of
// the moment it was passed, the setting applies at once to every logger the
// library uses, including ones given earlier. Through DefaultLogger and
// NewSlogLogger, debug messages are slog records at level Debug, which the
// slog handler must admit too (slog.SetLogLoggerLevel(slog.LevelDebug) for
// the default one).
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

// logger is the library's internal logger: a Logger with debug output,
// nested prefixes that name the component a line comes from, for example
// "[processor > partition-3] ", and structured fields. A slog-backed logger
// keeps both as attributes; a user's text Logger gets the prefixes only.
type logger interface {
	Logger
	Debugf(format string, args ...interface{})
	Prefix(prefix string) logger
	// With adds a structured field (group, topic, partition, ...).
	With(key string, value any) logger
	// CurrentPrefix and StackPrefix are goka's names: the component a line
	// is attributed to, and Prefix under another name.
	CurrentPrefix() string
	StackPrefix(prefix string) logger
}

// managerLogger is the logger of a topic manager: the configured one, or the
// default for nil, named for the component.
func managerLogger(l logger) logger {
	if l == nil {
		l = defaultLogger
	}
	return l.Prefix("topic_manager")
}

// wrapLogger turns a user's Logger into the internal logger; nil means the
// default logger.
func wrapLogger(l Logger) logger {
	switch l := l.(type) {
	case nil:
		return defaultLogger
	case *slogLogger:
		return l
	case *prefixLogger:
		return l
	}
	return &prefixLogger{out: l}
}

// prefixLogger writes a user's Logger text lines, prefixed with the
// component as goka does.
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

func (l *prefixLogger) CurrentPrefix() string { return strings.Join(l.prefixes, " > ") }

func (l *prefixLogger) StackPrefix(prefix string) logger { return l.Prefix(prefix) }

// With drops the field: the prefixes already name the component, and a text
// line has no place for attributes.
func (l *prefixLogger) With(string, any) logger { return l }

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

// componentKey is the attribute naming the component a slog record comes
// from: the prefixes a text line starts with.
const componentKey = "component"

// slogLogger writes slog records: the message without prefix, the
// component and the fields as attributes.
type slogLogger struct {
	base      *slog.Logger // nil: slog.Default() at every line
	component string
	attrs     []slog.Attr
}

func (l *slogLogger) Prefix(prefix string) logger {
	c := *l
	if c.component == "" {
		c.component = prefix
	} else {
		c.component += " > " + prefix
	}
	return &c
}

func (l *slogLogger) CurrentPrefix() string { return l.component }

func (l *slogLogger) StackPrefix(prefix string) logger { return l.Prefix(prefix) }

func (l *slogLogger) With(key string, value any) logger {
	c := *l
	c.attrs = make([]slog.Attr, len(l.attrs), len(l.attrs)+1)
	copy(c.attrs, l.attrs)
	c.attrs = append(c.attrs, slog.Any(key, value))
	return &c
}

func (l *slogLogger) Print(v ...interface{}) {
	l.log(slog.LevelInfo, func() string { return fmt.Sprint(v...) })
}

func (l *slogLogger) Println(v ...interface{}) {
	l.log(slog.LevelInfo, func() string { return strings.TrimSuffix(fmt.Sprintln(v...), "\n") })
}

func (l *slogLogger) Printf(format string, v ...interface{}) {
	l.log(slog.LevelInfo, func() string { return fmt.Sprintf(format, v...) })
}

func (l *slogLogger) Debugf(format string, v ...interface{}) {
	if debugEnabled.Load() {
		l.log(slog.LevelDebug, func() string { return fmt.Sprintf(format, v...) })
	}
}

// log builds the record only when the handler takes the level. It must be
// called straight from the exported methods: the record's source is the
// caller two frames up.
func (l *slogLogger) log(level slog.Level, msg func() string) {
	base := l.base
	if base == nil {
		base = slog.Default()
	}
	ctx := context.Background()
	h := base.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:]) // runtime.Callers, log, Print*
	r := slog.NewRecord(time.Now(), level, msg(), pcs[0])
	if l.component != "" {
		r.AddAttrs(slog.String(componentKey, l.component))
	}
	r.AddAttrs(l.attrs...)
	_ = h.Handle(ctx, r) // a logger has nowhere to report its own failure
}
