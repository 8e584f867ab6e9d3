package index

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka/web/actions"
	"github.com/seed-b2c684ed/goka/web/monitor"
	"github.com/seed-b2c684ed/goka/web/query"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

type fixedPath string

func (p fixedPath) BasePath() string { return string(p) }

func TestLinksEveryComponentInOrder(t *testing.T) {
	router := mux.NewRouter()
	s := NewServer("/index", router)
	assert.Equal(t, "/index", s.BasePath())

	code, body := get(t, router, "/index/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "No component is added.")

	s.AddComponent(fixedPath("/b"), "Bee")
	s.AddComponent(fixedPath("/a/"), "Ay")
	s.AddComponent(fixedPath("/"), "Root")
	for _, path := range []string{"/index/", "/index"} {
		code, body = get(t, router, path)
		require.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, body, "<li><a href=\"/b/\">Bee</a></li>\n<li><a href=\"/a/\">Ay</a></li>\n<li><a href=\"/\">Root</a></li>", path)
	}
	code, _ = get(t, router, "/index/other")
	assert.Equal(t, http.StatusNotFound, code)
}

// TestMountedLikeGokasMonitoringExample mounts every component on one router
// the way goka's monitoring example does, with the index at "/" created
// first, and checks that each answers its own routes.
func TestMountedLikeGokasMonitoringExample(t *testing.T) {
	root := mux.NewRouter()
	idx := NewServer("/", root)
	mon := monitor.NewServer("/monitor", root)
	qry := query.NewServer("/query", root)
	act := actions.NewServer("/actions", root)
	idx.AddComponent(mon, "Monitor")
	idx.AddComponent(qry, "Query")
	idx.AddComponent(act, "Actions")
	require.NoError(t, qry.AttachSource("numbers", func(key string) (interface{}, error) {
		if key == "one" {
			return 1, nil
		}
		return nil, nil
	}))
	require.NoError(t, act.AttachFuncAction("noop", "does nothing", func(context.Context, string) error { return nil }))
	// A route of the program itself, added last, as the example does.
	root.HandleFunc("/{key}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("program " + mux.Vars(r)["key"]))
	})

	code, body := get(t, root, "/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<a href="/monitor/">Monitor</a>`)
	assert.Contains(t, body, `<a href="/query/">Query</a>`)
	assert.Contains(t, body, `<a href="/actions/">Actions</a>`)

	code, body = get(t, root, "/monitor/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "No processor is attached.")
	code, body = get(t, root, "/query/numbers/one")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<pre class="value" id="value">1</pre>`)
	code, body = get(t, root, "/actions/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `data-action="noop"`)
	code, body = get(t, root, "/user-1")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "program user-1", body)
}
