package multierr

import (
	"context"
	"errors"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Error is several errors, as one.
type Error struct {
	Errors []error
}

// Error lists the errors, one per line after a count when there are several.
func (e *Error) Error() string {
	if e == nil || len(e.Errors) == 0 {
		return "no errors"
	}
	if len(e.Errors) == 1 {
		return e.Errors[0].Error()
	}
	var b strings.Builder
	b.WriteString(itoa(len(e.Errors)))
	b.WriteString(" errors occurred:")
	for _, err := range e.Errors {
		b.WriteString("\n\t* ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e == nil {
		return nil
	}
	return e.Errors
}

// WrappedErrors returns the errors, as hashicorp's multierror.Error does.
func (e *Error) WrappedErrors() []error {
	if e == nil {
		return nil
	}
	return e.Errors
}

// Len is the number of errors.
func (e *Error) Len() int {
	if e == nil {
		return 0
	}
	return len(e.Errors)
}

// ErrorOrNil returns e as an error, or nil when it holds no error.
func (e *Error) ErrorOrNil() error {
	if e == nil || len(e.Errors) == 0 {
		return nil
	}
	return e
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var digits []byte
	for ; n > 0; n /= 10 {
		digits = append([]byte{byte('0' + n%10)}, digits...)
	}
	return string(digits)
}

// ErrGroup runs goroutines and collects every error they return; the first
// error cancels the group's context. It embeds golang.org/x/sync's
// errgroup.Group, as goka's does, so SetLimit and TryGo are there too; Go and
// Wait are this type's own. A function started with TryGo cancels the
// context when it fails, but Wait reports its error only when no function
// started with Go failed, as errgroup keeps the first error alone.
type ErrGroup struct {
	*errgroup.Group

	mu   sync.Mutex
	errs []error
}

// NewErrGroup returns a group and the context its goroutines should use,
// cancelled at the first error or when Wait returns.
func NewErrGroup(ctx context.Context) (*ErrGroup, context.Context) {
	g, ctx := errgroup.WithContext(ctx)
	return &ErrGroup{Group: g}, ctx
}

// Go runs f in a goroutine of the group, blocking first while SetLimit's
// number of goroutines run.
func (g *ErrGroup) Go(f func() error) {
	g.Group.Go(func() error {
		err := f()
		if err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
		return err
	})
}

// Wait waits for every goroutine and returns their errors; call ErrorOrNil
// on the result.
func (g *ErrGroup) Wait() *Error {
	first := g.Group.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	errs := append([]error(nil), g.errs...)
	if len(errs) == 0 && first != nil {
		errs = append(errs, first)
	}
	return &Error{Errors: errs}
}

// WaitChan is Wait in a goroutine: the channel receives the errors once
// every goroutine has returned.
func (g *ErrGroup) WaitChan() <-chan *Error {
	ch := make(chan *Error, 1)
	go func() { ch <- g.Wait() }()
	return ch
}

// Errors collects errors from several goroutines.
//
// Deprecated: use ErrGroup, or errors.Join.
type Errors struct {
	mu   sync.Mutex
	errs []error
}

// Collect adds err, unless nil, and returns e.
func (e *Errors) Collect(err error) *Errors {
	if err == nil {
		return e
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
	return e
}

// Merge adds the errors of o and returns e.
func (e *Errors) Merge(o *Errors) *Errors {
	if o == nil {
		return e
	}
	o.mu.Lock()
	errs := append([]error(nil), o.errs...)
	o.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, errs...)
	return e
}

// HasErrors reports whether an error was collected.
func (e *Errors) HasErrors() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.errs) > 0
}

// Error joins the collected errors.
func (e *Errors) Error() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return (&Error{Errors: e.errs}).Error()
}

// NilOrError returns nil when nothing was collected, else the errors joined.
func (e *Errors) NilOrError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return errors.Join(e.errs...)
}
