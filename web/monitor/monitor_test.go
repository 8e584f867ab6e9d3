package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run starts a processor or view and stops it, waiting, when the test ends.
func run(t *testing.T, r interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
}

func count(ctx goka.Context, msg interface{}) {
	var n int64
	if v := ctx.Value(); v != nil {
		n = v.(int64)
	}
	ctx.SetValue(n + 1)
}

// world is a running counter processor (with a lookup table fed by a second
// processor) and a view of the counts, in one in-memory tester.
type world struct {
	tt     *tester.Tester
	server *Server
	router *mux.Router
}

func newWorld(t *testing.T, basePath string) *world {
	tt := tester.New(t)
	names := goka.DefineGroup("names",
		goka.Input("set-name", new(codec.String), func(ctx goka.Context, msg interface{}) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.String)),
	)
	counter := goka.DefineGroup("counter",
		goka.Input("clicks", new(codec.String), count),
		goka.Lookup("names-table", new(codec.String)),
		goka.Output("audit", new(codec.String)),
		goka.Persist(new(codec.Int64)),
		goka.Visitor("reset", func(ctx goka.Context, meta interface{}) { ctx.SetValue(meta) }),
	)
	np, err := goka.NewProcessor(nil, names, goka.WithTester(tt))
	require.NoError(t, err)
	cp, err := goka.NewProcessor(nil, counter, goka.WithTester(tt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, "counter-table", new(codec.Int64), goka.WithViewTester(tt))
	require.NoError(t, err)
	run(t, np)
	run(t, cp)
	run(t, view)

	router := mux.NewRouter()
	s := NewServer(basePath, router)
	s.AttachProcessor(cp)
	s.AttachView(view)
	// Wait until everything runs: the pages show the states, and cancelling
	// at the end is then a clean stop and not an aborted start.
	tt.Catchup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, np.WaitForReadyContext(ctx), "the names processor runs")
	require.NoError(t, cp.WaitForReadyContext(ctx), "the counter processor runs")
	select {
	case <-view.WaitRunning():
	case <-ctx.Done():
		t.Fatal("the view did not run within 10 s")
	}
	return &world{tt: tt, server: s, router: router}
}

func (w *world) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	return do(t, w.router, http.MethodGet, path)
}

func do(t *testing.T, h http.Handler, method, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, rec.Result().Header, string(body)
}

func TestOverviewListsProcessorsWithEdgesAndViews(t *testing.T) {
	w := newWorld(t, "/monitor")
	w.tt.Catchup()

	for _, path := range []string{"/monitor/", "/monitor"} {
		code, hdr, body := w.get(t, path)
		require.Equal(t, http.StatusOK, code, path)
		assert.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
		assert.Contains(t, body, `<a href="/monitor/processor/0">counter</a>`)
		assert.Contains(t, body, `<a href="/monitor/view/0">counter-table</a>`)
		for _, want := range []string{
			`<td class="muted">input</td><td>clicks</td><td><code>*codec.String</code></td>`,
			`<td class="muted">lookup</td><td>names-table</td><td><code>*codec.String</code></td>`,
			`<td class="muted">output</td><td>audit</td><td><code>*codec.String</code></td>`,
			`<td class="muted">table</td><td>counter-table</td><td><code>*codec.Int64</code></td>`,
			`<td class="muted">visitor</td><td>reset</td>`,
		} {
			assert.Contains(t, body, want)
		}
		assert.Contains(t, body, `<span class="state running">running</span>`)
	}
}

func TestDetailPagesPointAtTheirData(t *testing.T) {
	w := newWorld(t, "/monitor")
	tests := []struct {
		path, source, title string
	}{
		{"/monitor/processor/0", "/monitor/data/processor/0", "Processor counter"},
		{"/monitor/view/0", "/monitor/data/view/0", "View counter-table"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, _, body := w.get(t, tc.path)
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, `<h1 id="title">`+tc.title+`</h1>`)
			assert.Contains(t, body, `data-source="`+tc.source+`"`)
			assert.Contains(t, body, `<table class="stats" id="partitions">`)
			assert.Contains(t, body, `<script src="/monitor/static/monitor.js"></script>`)
			assert.Contains(t, body, `href="`+tc.path+`" class="active"`)
		})
	}
}

func TestOutOfRangeIndexIsNotFound(t *testing.T) {
	w := newWorld(t, "/monitor")
	for _, path := range []string{
		"/monitor/processor/1", // equal to the count: goka's off-by-one
		"/monitor/processor/-1",
		"/monitor/processor/x",
		"/monitor/view/1",
		"/monitor/view/99",
		"/monitor/data/processor/1",
		"/monitor/data/view/1",
		"/monitor/data/view/-1",
		"/monitor/data/emitter/0",
		"/monitor/data/processor/zero",
	} {
		code, _, _ := w.get(t, path)
		assert.Equal(t, http.StatusNotFound, code, path)
	}
}

func TestProcessorDataIsTheJSONOfItsStats(t *testing.T) {
	w := newWorld(t, "/monitor")
	w.tt.Consume("set-name", "user-1", "Ada")
	for i := 0; i < 10; i++ {
		w.tt.Consume("clicks", fmt.Sprintf("user-%d", i%2), "click")
	}

	code, hdr, body := w.get(t, "/monitor/data/processor/0")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	taken, err := strconv.ParseInt(hdr.Get("X-Stats-Time"), 10, 64)
	require.NoError(t, err, "X-Stats-Time")
	assert.WithinDuration(t, time.Now(), time.UnixMilli(taken), time.Minute)

	// The keys are the Go field names: the live page reads them.
	var raw map[string]map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &raw))
	require.Contains(t, raw["Group"], "0")
	pp := raw["Group"]["0"]
	for _, key := range []string{"Now", "TableStats", "Joined", "Input", "Output"} {
		assert.Contains(t, pp, key)
	}
	table := pp["TableStats"].(map[string]any)
	for _, key := range []string{"Stalled", "Status", "RunMode", "Recovery", "Input", "Writes"} {
		assert.Contains(t, table, key)
	}
	assert.Contains(t, raw["Lookup"], "names-table")

	var stats goka.ProcessorStats
	require.NoError(t, json.Unmarshal([]byte(body), &stats))
	in := stats.Group[0].Input["clicks"]
	require.NotNil(t, in)
	assert.Equal(t, uint(10), in.Count)
	assert.Equal(t, int64(9), in.LastOffset)
	assert.Equal(t, goka.PartitionRunning, stats.Group[0].TableStats.Status)
	assert.Equal(t, uint(10), stats.Group[0].TableStats.Writes.Count)
	assert.Equal(t, goka.PartitionRunning, stats.Lookup["names-table"].Partitions[0].Status)
}

func TestViewDataIsTheJSONOfItsStats(t *testing.T) {
	w := newWorld(t, "/monitor")
	for i := 0; i < 4; i++ {
		w.tt.Consume("clicks", "user-0", "click")
	}

	// The tester returns once the view's store holds the last record; its
	// stats follow a moment later, when the table's loop hears the write.
	var body string
	require.Eventually(t, func() bool {
		var code int
		code, _, body = w.get(t, "/monitor/data/view/0")
		var stats goka.ViewStats
		return code == http.StatusOK && json.Unmarshal([]byte(body), &stats) == nil &&
			stats.Partitions[0] != nil && stats.Partitions[0].Input.LastOffset == 3
	}, 5*time.Second, time.Millisecond, "the view's stats never showed offset 3")
	var raw map[string]map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &raw))
	require.Contains(t, raw["Partitions"], "0")
	for _, key := range []string{"Stalled", "Status", "RunMode", "Recovery", "Input", "Writes"} {
		assert.Contains(t, raw["Partitions"]["0"], key)
	}

	var stats goka.ViewStats
	require.NoError(t, json.Unmarshal([]byte(body), &stats))
	assert.Equal(t, goka.PartitionRunning, stats.Partitions[0].Status)
	assert.Equal(t, int64(3), stats.Partitions[0].Input.LastOffset)
}

func TestScriptIsServed(t *testing.T) {
	w := newWorld(t, "/monitor")
	code, hdr, body := w.get(t, "/monitor/static/monitor.js")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "text/javascript; charset=utf-8", hdr.Get("Content-Type"))
	assert.Contains(t, body, "data-partition")
}

func TestOnlyReads(t *testing.T) {
	w := newWorld(t, "/monitor")
	for _, path := range []string{"/monitor/", "/monitor/data/processor/0", "/monitor/processor/0"} {
		rec := httptest.NewRecorder()
		w.router.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, path)
		assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"), path)
	}
}

func TestRootBasePathMakesNoDoubleSlashes(t *testing.T) {
	w := newWorld(t, "/")
	assert.Equal(t, "/", w.server.BasePath())
	code, _, body := w.get(t, "/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `href="/processor/0"`)
	assert.NotContains(t, body, `href="//`)

	code, _, body = w.get(t, "/processor/0")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `data-source="/data/processor/0"`)
	assert.Contains(t, body, `src="/static/monitor.js"`)
}

func TestEmptyMonitor(t *testing.T) {
	router := mux.NewRouter()
	s := NewServer("/monitor", router, WithLogger(discard{}))
	assert.Equal(t, "/monitor", s.BasePath())
	code, _, body := do(t, router, http.MethodGet, "/monitor/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "No processor is attached.")
	assert.Contains(t, body, "No view is attached.")
	code, _, _ = do(t, router, http.MethodGet, "/monitor/processor/0")
	assert.Equal(t, http.StatusNotFound, code)
}

type discard struct{}

func (discard) Print(...interface{})          {}
func (discard) Println(...interface{})        {}
func (discard) Printf(string, ...interface{}) {}

func TestStateNames(t *testing.T) {
	tests := []struct {
		state goka.State
		proc  string
		view  string
	}{
		{goka.ProcStateIdle, "idle", "idle"},
		{goka.ProcStateRunning, "running", "recovering"},
		{goka.State(goka.ViewStateRunning), "stopping", "running"},
		{goka.State(42), "state-42", "state-42"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.proc, processorState(tc.state), "processor %d", tc.state)
		assert.Equal(t, tc.view, viewState(tc.state), "view %d", tc.state)
	}
	assert.True(t, strings.HasPrefix(stateName(nil, 1), "state-"))
}
