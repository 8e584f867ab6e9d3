// Package monitor serves web pages that show the processors and views of a
// program while it runs: their graphs, and per partition the state, offsets,
// lag, message counts and rates, refreshed live.
//
// Mount it on a gorilla router under a base path and attach what to show:
//
//	root := mux.NewRouter()
//	mon := monitor.NewServer("/monitor", root)
//	mon.AttachProcessor(proc)
//	mon.AttachView(view)
//
// Routes, below the base path:
//
//	/                    the processors (with their graph edges) and views
//	/processor/{idx}     one processor's partitions, refreshed live
//	/view/{idx}          one view's partitions, refreshed live
//	/data/processor/{idx} the JSON of Processor.StatsWithContext
//	/data/view/{idx}     the JSON of View.Stats
//	/static/monitor.js   the script of the live pages
//
// The live pages poll the /data route and compute rates from successive
// snapshots in the browser, so the server keeps no history. The script and
// styles are compiled into the binary: the pages load nothing from elsewhere.
// An index that is not a number or out of range answers 404 (goka lets the
// index equal to the count through and fails on it).
//
// # Security
//
// The pages show the topics, groups, partitions and offsets of the program,
// and collecting stats costs work: serve them on a trusted network only
// (bind to localhost, or put them behind a proxy that authenticates), and
// give WithAuthenticator to check every request. Nothing here changes state,
// and every route answers only GET and HEAD.
package monitor

import (
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/internal/page"
)

// statsTimeout bounds how long one /data request may spend collecting stats,
// so that a view or lookup that hangs cannot pile up polling requests.
const statsTimeout = 10 * time.Second

// pollInterval is how often the live pages fetch new stats.
const pollInterval = 2 * time.Second

// Server serves the monitor pages of the processors and views attached to it.
// It is safe for concurrent use.
type Server struct {
	log      goka.Logger
	basePath string
	auth     func(*http.Request) error

	mu         sync.RWMutex
	processors []*goka.Processor
	views      []*goka.View
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of template errors and refused requests; the
// default is goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// WithAuthenticator makes every route (the pages, the data and the script alike: a page that needs credentials
// should not half load) call auth first and serve the
// request only when it returns nil. A refusal answers 401 Unauthorized, or
// 403 Forbidden when the error wraps fs.ErrPermission; an error that is also
// an http.Handler answers the request itself (to send WWW-Authenticate, say).
// The error is logged, not shown. auth is called concurrently. It is also the
// place to check r.Host against the names the server is meant to be reached
// by, which defeats DNS rebinding.
func WithAuthenticator(auth func(*http.Request) error) Option {
	return func(s *Server) { s.auth = auth }
}

// NewServer mounts the monitor on router under basePath.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{log: goka.DefaultLogger(), basePath: basePath}
	for _, opt := range opts {
		opt(s)
	}
	sub := router.PathPrefix(basePath).Subrouter()
	if basePath != "" && basePath != "/" {
		sub.HandleFunc("", s.read(s.index))
	}
	sub.HandleFunc("/", s.read(s.index))
	sub.HandleFunc("/processor/{idx}", s.read(s.processorPage))
	sub.HandleFunc("/view/{idx}", s.read(s.viewPage))
	sub.HandleFunc("/data/{kind}/{idx}", s.read(s.data))
	sub.HandleFunc("/static/monitor.js", s.read(serveScript))
	return s
}

// read guards a route: authenticated, GET and HEAD only.
func (s *Server) read(h http.HandlerFunc) http.HandlerFunc {
	return page.Authenticate(s.auth, s.log, page.Read(h))
}

// BasePath returns the path the server is mounted under.
func (s *Server) BasePath() string { return s.basePath }

// AttachProcessor adds a processor to the pages. Its index is the number of
// processors attached before it.
func (s *Server) AttachProcessor(processor *goka.Processor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processors = append(s.processors, processor)
}

// AttachView adds a view to the pages. Its index is the number of views
// attached before it.
func (s *Server) AttachView(view *goka.View) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.views = append(s.views, view)
}

// snapshot returns the attached processors and views, so that pages render
// without holding the lock while they collect stats.
func (s *Server) snapshot() ([]*goka.Processor, []*goka.View) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*goka.Processor(nil), s.processors...), append([]*goka.View(nil), s.views...)
}
