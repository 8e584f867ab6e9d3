package multierr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed-b2c684ed/goka/multierr"
)

// goka programs run a processor, a view and a server side by side and stop
// all of them when one fails; every error is reported.
func ExampleNewErrGroup() {
	errg, ctx := multierr.NewErrGroup(context.Background())
	errg.Go(func() error {
		return errors.New("processor failed")
	})
	errg.Go(func() error {
		<-ctx.Done() // the first error cancels the others
		return fmt.Errorf("view stopped: %w", ctx.Err())
	})
	if err := errg.Wait().ErrorOrNil(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 2 errors occurred:
	//	* processor failed
	//	* view stopped: context canceled
}
