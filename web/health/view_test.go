package health

import (
	"errors"
	"net/http"
	"testing"

	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A view is live but not ready while it restores, ready once restored, and
// after a cancel still live but no longer ready.
func TestViewReadyOnceRestored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("prices", 2)
	e.emitSync("prices", new(codec.String), [2]any{"apple", "3"}, [2]any{"pear", "4"}, [2]any{"plum", "5"})
	g := newGate(t)
	view := e.view("prices", new(codec.String), g.builder)
	require.NoError(t, e.probes.AttachView(view))

	p := e.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.Equal(t, []string{"health: not recovered: idle (Run not called yet)"}, p.problems("view prices"))
	assert.Equal(t, http.StatusOK, e.get("/healthz").status, "live before Run")

	r := run(t, view)
	p = e.awaitProbe("/readyz", "a partition restoring", mentions(http.StatusServiceUnavailable,
		"view prices", "table prices is recovering", "to restore"))
	t.Logf("while restoring: %s", p.body)
	assert.Equal(t, http.StatusOK, e.get("/healthz").status, "live while restoring")

	g.open()
	e.awaitProbe("/readyz", "ready", is(http.StatusOK))

	require.NoError(t, r.stop(t))
	p = e.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.Equal(t, []string{"health: stopped: Run returned"}, p.problems("view prices"))
	assert.Equal(t, http.StatusOK, e.get("/healthz").status, "a cancelled view is still live: the program shuts down")
}

// A view whose Run failed is neither live nor ready, and says why.
func TestViewNotLiveAfterRunFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("rates", 1)
	broken := errors.New("disk full")
	view := e.view("rates", new(codec.String), func(string, int32) (storage.Storage, error) { return nil, broken })
	require.NoError(t, e.probes.AttachView(view))

	require.ErrorIs(t, run(t, view).wait(t), broken)
	for _, path := range []string{"/healthz", "/readyz"} {
		p := e.get(path)
		assert.Equal(t, http.StatusServiceUnavailable, p.status, path)
		problems := p.problems("view rates")
		require.Len(t, problems, 1, p.body)
		assert.Contains(t, problems[0], "health: stopped: Run returned: ")
		assert.Contains(t, problems[0], "disk full")
	}
}

// An emitter is live and ready until Finish, neither after.
func TestEmitterNotLiveAfterFinish(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createTopic("mails", 1)
	em := e.emitter("mails", new(codec.String))
	require.NoError(t, e.probes.AttachEmitter(em))
	require.ErrorIs(t, e.probes.AttachEmitter(em), ErrDuplicateCheck, "a second emitter needs a name")
	require.NoError(t, e.probes.AttachEmitter(em, WithName("emitter of mails")))

	require.NoError(t, em.EmitSync("ada", "hello"))
	assert.Equal(t, http.StatusOK, e.get("/healthz").status)
	assert.Equal(t, http.StatusOK, e.get("/readyz").status)

	require.NoError(t, em.Finish())
	for _, path := range []string{"/healthz", "/readyz"} {
		p := e.get(path)
		assert.Equal(t, http.StatusServiceUnavailable, p.status, path)
		assert.Equal(t, []string{"health: stopped: the emitter was finished"}, p.problems("emitter"), path)
		assert.Equal(t, []string{"health: stopped: the emitter was finished"}, p.problems("emitter of mails"), path)
	}
}
