// Package multierr collects the errors of several goroutines. It exists for
// source compatibility with goka's package of the same name, which goka
// programs (its examples among them) use to run a processor, a view and an
// HTTP server side by side and wait for all of them.
//
// As goka's, ErrGroup embeds golang.org/x/sync's errgroup.Group (SetLimit
// and TryGo). Unlike goka's, Wait returns this package's *Error rather than
// hashicorp's *multierror.Error, which would be a dependency for one type:
// *Error has the Errors field and the ErrorOrNil, WrappedErrors, Len and
// Unwrap methods goka programs call on the result, so code that does not
// name hashicorp's type builds unchanged.
package multierr
