package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/health"
	"github.com/seed-b2c684ed/goka/web/index"
	"github.com/seed-b2c684ed/goka/web/monitor"
	"github.com/seed-b2c684ed/goka/web/query"
)

// webServer is the running HTTP server of this copy.
type webServer struct {
	url    string
	srv    *http.Server
	served chan error
}

// basePath lets the index page link pages that are not a web component,
// such as pprof's and the metrics.
type basePath string

func (p basePath) BasePath() string { return string(p) }

// startWeb serves the monitor, the query page, pprof, the metrics (with
// handler), the health probes (/healthz, /readyz) and an index of them on
// address. It listens before returning, so
// the URL it reports is final even for port 0.
func startWeb(address string, proc *goka.Processor, view *goka.View, metrics http.Handler) (*webServer, error) {
	router := mux.NewRouter()

	mon := monitor.NewServer("/monitor", router)
	mon.AttachProcessor(proc)
	mon.AttachView(view)

	qry := query.NewServer("/query", router)
	// The processor answers only for the partitions this copy owns; the
	// view answers for every key. Comparing them shows the split.
	if err := qry.AttachSource("processor", proc.Get); err != nil {
		return nil, err
	}
	if err := qry.AttachSource("view", view.Get); err != nil {
		return nil, err
	}

	// Readiness drops while the copies rebalance: every copy stops its
	// partitions until the new assignment runs.
	probes := health.NewServer("", router)
	if err := errors.Join(probes.AttachProcessor(proc), probes.AttachView(view)); err != nil {
		return nil, err
	}

	router.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	router.HandleFunc("/debug/pprof/profile", pprof.Profile)
	router.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	router.HandleFunc("/debug/pprof/trace", pprof.Trace)
	router.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)

	// The index links the metrics as /metrics/: serve both spellings.
	router.Handle("/metrics", metrics)
	router.Handle("/metrics/", metrics)

	idx := index.NewServer("/", router)
	idx.AddComponent(mon, "Monitor")
	idx.AddComponent(qry, "Query")
	idx.AddComponent(basePath("/debug/pprof"), "pprof")
	idx.AddComponent(basePath("/metrics"), "Metrics (Prometheus)")

	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", address, err)
	}
	w := &webServer{
		url:    "http://" + ln.Addr().String() + "/",
		srv:    &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second},
		served: make(chan error, 1),
	}
	go func() { w.served <- w.srv.Serve(ln) }()
	return w, nil
}

// shutdown stops the server, letting requests in flight finish for a few
// seconds; a pprof profile still running is cut off then.
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
	if err != nil {
		return fmt.Errorf("stopping the web server: %w", err)
	}
	return nil
}
