// Package multierr collects the errors of several goroutines. It exists for
// source compatibility with goka's package of the same name, which goka
// programs (its examples among them) use to run a processor, a view and an
// HTTP server side by side and wait for all of them.
//
// Unlike goka's, it depends on no other module: ErrGroup does not embed
// golang.org/x/sync's errgroup.Group, and Wait returns this package's *Error
// rather than hashicorp's *multierror.Error. Code that calls Go, Wait,
// WaitChan and ErrorOrNil, as goka's documentation shows, builds unchanged.
package multierr
