package commit

import (
	"container/list"
	"sync"
	"time"
)

// Deferred is a message whose callback deferred its commit (goka's
// Context.DeferCommit) and has not released it yet.
type Deferred struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	// Since is when the commit was deferred.
	Since time.Time
}

// Overdue is what Watch reports when deferred commits grow old: the oldest
// of those that passed the age limit since the last report, its age, and how
// many others passed it with it.
type Overdue struct {
	Oldest Deferred
	Age    time.Duration
	More   int
}

// Watch keeps the deferred commits of one partition that are not released.
// A deferred commit that is never released holds back the committed offset
// of its partition for ever, and with it every later message; the tracker
// keeps their slots, so memory grows with every message after it. Watch
// makes that visible: Oldest gives the age of the oldest (for a metric), and
// once a deferred commit is older than the limit, warn is called with it,
// once per deferred commit.
//
// Add and the release it returns may be called from any goroutine; warn is
// called from a timer's goroutine, never with the Watch's lock held.
type Watch struct {
	limit time.Duration // zero: no warning
	warn  func(Overdue)
	now   func() time.Time

	mu      sync.Mutex
	pending list.List     // of Deferred, in the order deferred
	next    *list.Element // the oldest pending not reported yet
	timer   *time.Timer   // armed for next's limit; nil when not armed
	closed  bool
}

// NewWatch returns a watch that calls warn for deferred commits older than
// limit; with a limit of zero or less it never warns.
func NewWatch(limit time.Duration, warn func(Overdue)) *Watch {
	return &Watch{limit: limit, warn: warn, now: time.Now}
}

// Add records a deferred commit and returns the function that forgets it
// when it is released; calling that more than once is harmless.
func (w *Watch) Add(d Deferred) (release func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d.Since.IsZero() {
		d.Since = w.now()
	}
	e := w.pending.PushBack(d)
	if w.next == nil {
		w.next = e
		w.armLocked()
	}
	var once sync.Once
	return func() { once.Do(func() { w.remove(e) }) }
}

func (w *Watch) remove(e *list.Element) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e == w.next {
		w.next = e.Next()
		w.armLocked()
	}
	w.pending.Remove(e)
}

// Len returns the number of deferred commits not released.
func (w *Watch) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending.Len()
}

// Oldest returns the deferred commit not released for the longest time and
// its age; ok is false when none is pending.
func (w *Watch) Oldest() (d Deferred, age time.Duration, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	front := w.pending.Front()
	if front == nil {
		return Deferred{}, 0, false
	}
	d = front.Value.(Deferred)
	return d, w.now().Sub(d.Since), true
}

// Close stops the timer; nothing is reported afterwards.
func (w *Watch) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// armLocked sets the timer for when next passes the limit, or stops it when
// there is nothing to report.
func (w *Watch) armLocked() {
	if w.limit <= 0 || w.closed {
		return
	}
	if w.next == nil {
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
		return
	}
	wait := w.next.Value.(Deferred).Since.Add(w.limit).Sub(w.now())
	if w.timer == nil {
		w.timer = time.AfterFunc(wait, w.check)
		return
	}
	w.timer.Reset(wait)
}

// check reports the deferred commits that passed the limit since the last
// report and arms the timer for the next one.
func (w *Watch) check() {
	w.mu.Lock()
	if w.closed || w.limit <= 0 {
		w.mu.Unlock()
		return
	}
	now := w.now()
	var (
		report Overdue
		found  bool
	)
	for w.next != nil {
		d := w.next.Value.(Deferred)
		age := now.Sub(d.Since)
		if age < w.limit {
			break
		}
		if !found {
			report, found = Overdue{Oldest: d, Age: age}, true
		} else {
			report.More++
		}
		w.next = w.next.Next()
	}
	w.timer = nil
	w.armLocked()
	w.mu.Unlock()
	if found {
		w.warn(report)
	}
}
