package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

type user struct {
	Name   string
	Clicks int
}

func mapGetter(m map[string]interface{}) goka.Getter {
	return func(key string) (interface{}, error) { return m[key], nil }
}

func get(t *testing.T, h http.Handler, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, rec.Result().Header, string(body)
}

func newServer(t *testing.T, opts ...Option) (*Server, *mux.Router) {
	router := mux.NewRouter()
	s := NewServer("/query", router, opts...)
	require.NoError(t, s.AttachSource("users", mapGetter(map[string]interface{}{
		"ada":      &user{Name: "Ada", Clicks: 3},
		"a/b":      "slashed",
		"<b>x</b>": "<script>alert(1)</script>",
	})))
	require.NoError(t, s.AttachSource("broken", func(string) (interface{}, error) {
		return nil, errors.New("view not running")
	}))
	return s, router
}

func TestQueryRoutes(t *testing.T) {
	_, router := newServer(t)
	tests := []struct {
		name     string
		path     string
		code     int
		contains []string
		absent   []string
	}{
		{"form", "/query/", http.StatusOK, []string{`<option value="broken" selected>`, `<option value="users">`, `action="/query/"`}, []string{`id="value"`}},
		{"form without slash", "/query", http.StatusOK, []string{`id="query-form"`}, nil},
		{"source", "/query/users", http.StatusOK, []string{`<option value="users" selected>`}, []string{`id="value"`}},
		{"source with empty key", "/query/users/", http.StatusOK, []string{`<option value="users" selected>`}, []string{`id="value"`}},
		{"unknown source", "/query/nope", http.StatusNotFound, []string{`Source &#34;nope&#34; is not attached.`}, nil},
		{"unknown source with key", "/query/nope/ada", http.StatusNotFound, []string{`Source &#34;nope&#34; is not attached.`}, nil},
		{"found", "/query/users/ada", http.StatusOK, []string{
			`<code id="result-key">ada</code>`,
			`(*query.user)`,
			"<pre class=\"value\" id=\"value\">{\n  &#34;Name&#34;: &#34;Ada&#34;,\n  &#34;Clicks&#34;: 3\n}</pre>",
			`value="ada"`,
		}, nil},
		{"key is trimmed", "/query/users/%20ada%20", http.StatusOK, []string{`<code id="result-key">ada</code>`}, nil},
		{"key with slash", "/query/users/a/b", http.StatusOK, []string{`&#34;slashed&#34;`}, nil},
		{"key is escaped", "/query/users/%3Cb%3Ex%3C%2Fb%3E", http.StatusOK, []string{`&lt;b&gt;x&lt;/b&gt;`, `\u003cscript\u003e`}, []string{"<script>alert"}},
		{"not found", "/query/users/bob", http.StatusNotFound, []string{`Key &#34;bob&#34; is not in users.`}, []string{`id="value"`}},
		{"getter error", "/query/broken/ada", http.StatusInternalServerError, []string{`view not running`}, []string{`id="value"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := get(t, router, tc.path)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
			for _, want := range tc.contains {
				assert.Contains(t, body, want)
			}
			for _, not := range tc.absent {
				assert.NotContains(t, body, not)
			}
		})
	}
}

func TestFormRedirectsToTheKeyPath(t *testing.T) {
	_, router := newServer(t)
	tests := []struct{ query, location string }{
		{"?source=users&key=ada", "/query/users/ada"},
		{"?source=users&key=+a/b+", "/query/users/a%2Fb"},
		{"?source=users&key=", "/query/users"},
	}
	for _, tc := range tests {
		code, hdr, _ := get(t, router, "/query/"+tc.query)
		assert.Equal(t, http.StatusSeeOther, code, tc.query)
		assert.Equal(t, tc.location, hdr.Get("Location"), tc.query)
	}
	// The escaped slash reaches the getter as a slash.
	code, _, body := get(t, router, "/query/users/a%2Fb")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `&#34;slashed&#34;`)
}

func TestDuplicateSource(t *testing.T) {
	s, _ := newServer(t)
	err := s.AttachSource("users", mapGetter(nil))
	require.ErrorIs(t, err, ErrDuplicateSource)
	assert.Contains(t, err.Error(), `"users"`)
}

func TestHumanizers(t *testing.T) {
	text, err := DefaultHumanizer().Humanize(map[string]int{"a": 1})
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"a\": 1\n}", text)

	_, err = DefaultHumanizer().Humanize(make(chan int))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chan int")

	upper := HumanizerFunc(func(v interface{}) (string, error) { return fmt.Sprintf("value=%v", v), nil })
	_, router := newServer(t, WithHumanizer(upper), WithLogger(discard{}))
	code, _, body := get(t, router, "/query/users/a/b")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `<pre class="value" id="value">value=slashed</pre>`)

	failing := HumanizerFunc(func(interface{}) (string, error) { return "", errors.New("cannot show") })
	_, router = newServer(t, WithHumanizer(failing))
	code, _, body = get(t, router, "/query/users/ada")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, "cannot show")
}

func TestNoSources(t *testing.T) {
	router := mux.NewRouter()
	s := NewServer("/q", router)
	assert.Equal(t, "/q", s.BasePath())
	code, _, body := get(t, router, "/q/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "No source is attached.")
}

// TestProcessorAndViewGetters queries a real processor and view, running in
// memory, through the same Getter signature goka programs pass.
func TestProcessorAndViewGetters(t *testing.T) {
	tt := tester.New(t)
	gg := goka.DefineGroup("clicks",
		goka.Input("click", new(codec.String), func(ctx goka.Context, msg interface{}) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	proc, err := goka.NewProcessor(nil, gg, goka.WithTester(tt))
	require.NoError(t, err)
	view, err := goka.NewView(nil, goka.GroupTable("clicks"), new(codec.Int64), goka.WithViewTester(tt))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- proc.Run(ctx) }()
	go func() { errs <- view.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for i := 0; i < 2; i++ {
			select {
			case err := <-errs:
				assert.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
		}
	})

	tt.Consume("click", "user-7", "x")
	tt.Consume("click", "user-7", "x")

	router := mux.NewRouter()
	s := NewServer("/query", router)
	require.NoError(t, s.AttachSource("processor", proc.Get))
	require.NoError(t, s.AttachSource("view", view.Get))
	for _, source := range []string{"processor", "view"} {
		code, _, body := get(t, router, "/query/"+source+"/user-7")
		assert.Equal(t, http.StatusOK, code, source)
		assert.Contains(t, body, `<pre class="value" id="value">2</pre>`, source)
		code, _, _ = get(t, router, "/query/"+source+"/user-8")
		assert.Equal(t, http.StatusNotFound, code, source)
	}
}

type discard struct{}

func (discard) Print(...interface{})          {}
func (discard) Println(...interface{})        {}
func (discard) Printf(string, ...interface{}) {}
