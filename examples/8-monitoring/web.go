package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/actions"
	"github.com/seed-b2c684ed/goka/web/health"
	"github.com/seed-b2c684ed/goka/web/index"
	"github.com/seed-b2c684ed/goka/web/monitor"
	"github.com/seed-b2c684ed/goka/web/query"
)

// webServer is the running HTTP server with every web component.
type webServer struct {
	url    string
	srv    *http.Server
	served chan error

	// Actions run in goroutines of package actions, on contexts of their
	// own. tied binds them to the program's context and counts them, so that
	// the emitter they use is finished only after the last one returned.
	appCtx  context.Context
	mu      sync.Mutex
	idle    *sync.Cond // signalled when running drops to zero
	closed  bool       // no action may start any more
	running int
}

// components is what the web UI shows.
type components struct {
	processors []*goka.Processor // monitor index = position
	view       *goka.View
	sources    map[string]goka.Getter
	clicks     *clickSource
	emitter    *goka.Emitter
	metrics    http.Handler // the Prometheus registry's handler
	readyLag   int64        // the consumer lag up to which a partition is ready
}

// basePath lets the index page link a page that is not a web component, such
// as the metrics.
type basePath string

// BasePath implements index.ComponentPathProvider.
func (p basePath) BasePath() string { return string(p) }

// startWeb serves monitor, query, actions, the metrics, the health probes
// (/healthz, /readyz) and the index on
// address, listening before it returns so that the URL is final even for
// port 0. Actions end when appCtx does.
func startWeb(appCtx context.Context, address string, c components) (*webServer, error) {
	w := &webServer{appCtx: appCtx, served: make(chan error, 1)}
	w.idle = sync.NewCond(&w.mu)
	router := mux.NewRouter()

	mon := monitor.NewServer("/monitor", router)
	for _, p := range c.processors {
		mon.AttachProcessor(p)
	}
	mon.AttachView(c.view)

	qry := query.NewServer("/query", router)
	for name, get := range c.sources {
		if err := qry.AttachSource(name, get); err != nil {
			return nil, err
		}
	}

	act := actions.NewServer("/actions", router)
	if err := act.AttachFuncAction("emit", "Emit N clicks at once (value: N, default 100).", w.tied(c.clicks.burst)); err != nil {
		return nil, err
	}
	if err := act.AttachFuncAction("pause", "Pause the steady clicks until stopped: watch the rates drop to zero.", w.tied(c.clicks.pause)); err != nil {
		return nil, err
	}

	// The probes a Kubernetes deployment would point its liveness and
	// readiness checks at.
	probes := health.NewServer("", router)
	for _, p := range c.processors {
		if err := probes.AttachProcessor(p, health.WithMaxLag(c.readyLag)); err != nil {
			return nil, err
		}
	}
	if err := probes.AttachView(c.view, health.WithMaxLag(c.readyLag)); err != nil {
		return nil, err
	}
	if err := probes.AttachEmitter(c.emitter); err != nil {
		return nil, err
	}

	// The index links the metrics as /metrics/: serve both spellings.
	router.Handle("/metrics", c.metrics)
	router.Handle("/metrics/", c.metrics)

	idx := index.NewServer("/", router)
	idx.AddComponent(mon, "Monitor")
	idx.AddComponent(qry, "Query")
	idx.AddComponent(act, "Actions")
	idx.AddComponent(basePath("/metrics"), "Metrics (Prometheus)")

	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", address, err)
	}
	w.url = "http://" + ln.Addr().String() + "/"
	w.srv = &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go func() { w.served <- w.srv.Serve(ln) }()
	return w, nil
}

// tied wraps an action so that it also ends when the program stops, and is
// counted while it runs. A run's goroutine may begin after the request that
// started it was answered, even after the server shut down: it is refused
// then.
func (w *webServer) tied(fn func(ctx context.Context, value string) error) func(context.Context, string) error {
	return func(ctx context.Context, value string) error {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return errShuttingDown
		}
		w.running++
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			w.running--
			if w.running == 0 {
				w.idle.Broadcast()
			}
			w.mu.Unlock()
		}()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(w.appCtx, cancel)
		defer stop()
		return fn(ctx, value)
	}
}

// errShuttingDown is the result of an action started while the program
// stops.
var errShuttingDown = errors.New("the program is shutting down")

// shutdown stops the server, then closes the gate of the actions and waits
// for those running, which the program's context has cancelled.
func (w *webServer) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := w.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = w.srv.Close()
	}
	if serveErr := <-w.served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	w.mu.Lock()
	w.closed = true
	for w.running > 0 {
		w.idle.Wait()
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("stopping the web server: %w", err)
	}
	return nil
}
