// Package health answers the liveness and readiness probes of a program that
// runs processors, views and emitters, as Kubernetes (or any load balancer)
// asks them:
//
//   - liveness: is the program still able to do its work, or should it be
//     restarted? A processor or view is live unless its Run returned an
//     error (a Run cancelled for a shutdown returned nil and stays live); an
//     emitter until it is finished. A processor a supervisor restarts is
//     live while it heals: see Processor.
//   - readiness: does it do its work now? A processor is ready while its
//     assigned partitions are restored, running and caught up with their
//     inputs and tables within a limit (WithMaxLag, WithMaxDelay); a view
//     once restored and caught up; an emitter until it is finished.
//
// Mount it on a gorilla router, or take its handlers for any other mux, and
// attach what to report:
//
//	root := mux.NewRouter()
//	probes := health.NewServer("", root)
//	probes.AttachProcessor(proc)
//	probes.AttachView(view)
//	probes.AttachEmitter(emitter)
//
//	// or, on a net/http ServeMux:
//	probes := health.New()
//	mux.Handle("GET /healthz", probes.Liveness())
//	mux.Handle("GET /readyz", probes.Readiness())
//
// Routes, below the base path:
//
//	/healthz  liveness
//	/readyz   readiness
//
// Each answers 200 OK when every check passes and 503 Service Unavailable
// when one fails, with Cache-Control: no-store and a JSON body that gives
// every check and, for those failing, why: which partition lags behind which
// topic and by how much, which table is still restoring, what Run returned.
// For example:
//
//	{"ready":false,"checks":[{"name":"processor counter","ready":false,
//	  "problems":["partition 3: input clicks lags 1523 messages (limit 1000)"]}]}
//
// A check answers from the state the components keep; it does no I/O, so a
// probe returns in microseconds even while Kafka is unreachable.
//
// # Readiness and rebalances
//
// While the consumer group rebalances, a processor stops its partitions and
// is not ready until the new session runs: every instance of the group goes
// unready for the length of a rebalance. Probes that fail a few times in a
// row before acting (Kubernetes' failureThreshold) ride that out. A liveness
// probe never fails for a rebalance, a restore or a lag: restarting would
// only start them again.
//
// # Security
//
// The answers name topics, groups and partitions, not keys or values. Serve
// them where the prober reaches them (the kubelet calls the pod's IP), and
// give WithAuthenticator if they must be guarded: the kubelet can send a
// fixed header (httpHeaders in the probe). Nothing here changes state, and
// every route answers only GET and HEAD.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/internal/page"
)

// Server answers the probes from the checks attached to it. It is safe for
// concurrent use; checks may be attached while it serves.
type Server struct {
	log      goka.Logger
	basePath string
	auth     func(*http.Request) error

	mu     sync.RWMutex
	checks []namedCheck
}

type namedCheck struct {
	name string
	Checker
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of refused requests; the default is
// goka.DefaultLogger().
func WithLogger(l goka.Logger) Option {
	return func(s *Server) { s.log = l }
}

// WithAuthenticator makes both routes call auth first and answer the probe
// only when it returns nil. A refusal answers 401 Unauthorized, or 403
// Forbidden when the error wraps fs.ErrPermission; an error that is also an
// http.Handler answers the request itself. The error is logged, not shown.
// auth is called concurrently. A prober that is refused sees a failing probe:
// give the kubelet the header it needs.
func WithAuthenticator(auth func(*http.Request) error) Option {
	return func(s *Server) { s.auth = auth }
}

// New returns a Server that is not mounted anywhere: serve Liveness and
// Readiness on the routes of your choice.
func New(opts ...Option) *Server {
	s := &Server{log: goka.DefaultLogger()}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// NewServer returns a Server mounted on router at basePath+"/healthz" and
// basePath+"/readyz"; basePath may be empty.
func NewServer(basePath string, router *mux.Router, opts ...Option) *Server {
	s := New(opts...)
	s.basePath = strings.TrimSuffix(basePath, "/")
	router.Handle(s.basePath+"/healthz", s.Liveness())
	router.Handle(s.basePath+"/readyz", s.Readiness())
	return s
}

// BasePath returns the path the server is mounted under.
func (s *Server) BasePath() string { return s.basePath }

// Liveness returns the handler of the liveness probe.
func (s *Server) Liveness() http.Handler {
	return s.probe("live", Checker.Live)
}

// Readiness returns the handler of the readiness probe.
func (s *Server) Readiness() http.Handler {
	return s.probe("ready", Checker.Ready)
}

// Attach adds a check under name, which the answers show. A name can be
// attached once.
func (s *Server) Attach(name string, c Checker) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, nc := range s.checks {
		if nc.name == name {
			return fmt.Errorf("%w: %q", ErrDuplicateCheck, name)
		}
	}
	s.checks = append(s.checks, namedCheck{name: name, Checker: c})
	return nil
}

// AttachProcessor adds the check of p (see ProcessorCheck), named
// "processor <group>" unless WithName says otherwise.
func (s *Server) AttachProcessor(p Processor, opts ...CheckOption) error {
	c := newProcessorCheck(p, opts)
	return s.Attach(c.cfg.name, c)
}

// AttachView adds the check of v (see ViewCheck), named "view <topic>"
// unless WithName says otherwise.
func (s *Server) AttachView(v *goka.View, opts ...CheckOption) error {
	c := newViewCheck(v, opts)
	return s.Attach(c.cfg.name, c)
}

// AttachEmitter adds the check of e (see EmitterCheck), named "emitter"
// unless WithName says otherwise.
func (s *Server) AttachEmitter(e *goka.Emitter, opts ...CheckOption) error {
	c := newEmitterCheck(e, opts)
	return s.Attach(c.cfg.name, c)
}

// answer is the body of a probe's answer: Live or Ready is set.
type answer struct {
	Live   *bool         `json:"live,omitempty"`
	Ready  *bool         `json:"ready,omitempty"`
	Checks []checkResult `json:"checks"`
}

// checkResult is one check in an answer.
type checkResult struct {
	Name     string   `json:"name"`
	Live     *bool    `json:"live,omitempty"`
	Ready    *bool    `json:"ready,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// probe serves one kind of probe: key is "live" or "ready", run calls the
// check of that kind.
func (s *Server) probe(key string, run func(Checker, context.Context) error) http.Handler {
	return page.Authenticate(s.auth, s.log, page.Read(func(w http.ResponseWriter, r *http.Request) {
		s.mu.RLock()
		checks := append([]namedCheck(nil), s.checks...)
		s.mu.RUnlock()

		ok := true
		results := make([]checkResult, 0, len(checks))
		for _, c := range checks {
			err := run(c.Checker, r.Context())
			passed := err == nil
			ok = ok && passed
			res := checkResult{Name: c.name}
			if key == "live" {
				res.Live = &passed
			} else {
				res.Ready = &passed
			}
			if err != nil {
				// errors.Join puts one error a line.
				res.Problems = strings.Split(err.Error(), "\n")
			}
			results = append(results, res)
		}
		a := answer{Checks: results}
		if key == "live" {
			a.Live = &ok
		} else {
			a.Ready = &ok
		}
		body, err := json.Marshal(a)
		if err != nil {
			http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		w.WriteHeader(status)
		_, _ = w.Write(append(body, '\n'))
	}))
}
