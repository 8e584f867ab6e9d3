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
package monitor

import (
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

	mu         sync.RWMutex
	processors []*goka.Processor
	views      []*goka.View
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of template errors; the default is
// goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// NewServer mounts the monitor on router under basePath.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := &Server{log: goka.DefaultLogger(), basePath: basePath}
	for _, opt := range opts {
		opt(s)
	}
	sub := router.PathPrefix(basePath).Subrouter()
	if basePath != "" && basePath != "/" {
		sub.HandleFunc("", page.Read(s.index))
	}
	sub.HandleFunc("/", page.Read(s.index))
	sub.HandleFunc("/processor/{idx}", page.Read(s.processorPage))
	sub.HandleFunc("/view/{idx}", page.Read(s.viewPage))
	sub.HandleFunc("/data/{kind}/{idx}", page.Read(s.data))
	sub.HandleFunc("/static/monitor.js", page.Read(serveScript))
	return s
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
