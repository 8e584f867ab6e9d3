package multierr

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestErrGroupCollectsAndCancels(t *testing.T) {
	g, ctx := NewErrGroup(context.Background())
	first := errors.New("first")
	g.Go(func() error { return first })
	g.Go(func() error {
		<-ctx.Done() // cancelled by the first error
		return errors.New("second")
	})
	g.Go(func() error { return nil })
	err := g.Wait().ErrorOrNil()
	require.Error(t, err)
	assert.ErrorIs(t, err, first)
	assert.Contains(t, err.Error(), "2 errors occurred")
	assert.Contains(t, err.Error(), "second")
}

func TestErrGroupWithoutErrors(t *testing.T) {
	g, ctx := NewErrGroup(context.Background())
	g.Go(func() error { return nil })
	select {
	case merr := <-g.WaitChan():
		assert.NoError(t, merr.ErrorOrNil())
	case <-time.After(5 * time.Second):
		t.Fatal("WaitChan did not deliver")
	}
	assert.Error(t, ctx.Err(), "Wait cancels the group's context")
}

func TestErrors(t *testing.T) {
	var e Errors
	assert.False(t, e.HasErrors())
	assert.NoError(t, e.NilOrError())
	e.Collect(nil).Collect(errors.New("a"))
	var o Errors
	o.Collect(errors.New("b"))
	e.Merge(&o).Merge(nil)
	assert.True(t, e.HasErrors())
	assert.Contains(t, e.Error(), "a")
	assert.Contains(t, e.NilOrError().Error(), "b")
}

func TestMultiWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mw := NewMultiWait(ctx, 2)
	a, b := make(chan struct{}), make(chan struct{})
	mw.Add(a)
	mw.Add(b)
	close(a)
	select {
	case <-mw.Done():
		t.Fatal("done with one of two channels closed")
	default:
	}
	close(b)
	assert.True(t, mw.Wait())

	short, stop := context.WithCancel(context.Background())
	never := NewMultiWait(short, 1)
	never.Add(make(chan struct{}))
	stop()
	assert.False(t, never.Wait(), "a cancelled context ends the wait")
}

// goka's ErrGroup embeds x/sync's errgroup.Group: SetLimit and TryGo are
// there, and a function started with TryGo still fails the group.
func TestErrGroupLimitAndTryGo(t *testing.T) {
	g, ctx := NewErrGroup(context.Background())
	g.SetLimit(1)
	release := make(chan struct{})
	g.Go(func() error {
		<-release
		return nil
	})
	assert.False(t, g.TryGo(func() error { return nil }), "the one slot is taken")
	close(release)
	require.NoError(t, g.Wait().ErrorOrNil())

	g, ctx = NewErrGroup(context.Background())
	failed := errors.New("tried")
	require.True(t, g.TryGo(func() error { return failed }))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a failed TryGo function did not cancel the context")
	}
	merr := g.Wait()
	assert.ErrorIs(t, merr.ErrorOrNil(), failed)
	assert.Equal(t, 1, merr.Len())
	assert.Equal(t, []error{failed}, merr.WrappedErrors())
}
