package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/codec"
	"github.com/seed-b2c684ed/goka/web/health"
)

// shutdownTimeout bounds how long the server waits for requests in flight
// when the program stops.
const shutdownTimeout = 5 * time.Second

// service is the messaging service's front: it writes what users send to the
// sent stream with an Emitter, and answers their feeds from a View of the
// collector's table. It holds no state of its own, so any number of copies
// can serve side by side.
type service struct {
	emitter *goka.Emitter
	view    *goka.View
	http    *http.Server
	ln      net.Listener
	url     string
}

func (a *app) newService(addr string) (*service, error) {
	view, err := goka.NewView(a.brokers, goka.GroupTable(collectorGroup), new(codec.JSON[[]Message]),
		goka.WithViewStorageBuilder(a.viewStorage()))
	if err != nil {
		return nil, err
	}
	emitter, err := goka.NewEmitter(a.brokers, sentStream, new(codec.JSON[Message]))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		emitter.Finish()
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := &service{emitter: emitter, view: view, ln: ln, url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{user}/send", s.send)
	mux.HandleFunc("GET /{user}/feed", s.feed)
	// The probes of this front: live unless the view failed or the emitter
	// is finished, ready once the view has read the feeds.
	probes := health.New()
	if err := errors.Join(probes.AttachView(view), probes.AttachEmitter(emitter)); err != nil {
		emitter.Finish()
		ln.Close()
		return nil, err
	}
	mux.Handle("GET /healthz", probes.Liveness())
	mux.Handle("GET /readyz", probes.Readiness())
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// run serves until ctx ends, or the view or the server fails. The server
// is shut down before the view stops, so no request reads a view that is
// gone.
func (s *service) run(ctx context.Context) error {
	defer s.emitter.Finish()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	viewCtx, stopView := context.WithCancel(context.Background())
	defer stopView()
	viewDone := make(chan error, 1)
	go func() {
		viewDone <- s.view.Run(viewCtx)
		cancel()
	}()
	served := make(chan error, 1)
	go func() {
		served <- s.http.Serve(s.ln)
		cancel()
	}()
	<-ctx.Done()

	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelShutdown()
	err := s.http.Shutdown(shutdownCtx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("http server: %w", serr))
	}
	stopView()
	if verr := <-viewDone; verr != nil {
		err = errors.Join(err, verr)
	}
	return err
}

// sendRequest is the body of POST /{user}/send.
type sendRequest struct {
	To      string `json:"to"`
	Content string `json:"content"`
}

// send writes a message of the user in the path, keyed by that user, and
// answers once Kafka has it.
func (s *service) send(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `the body must be {"to": "<user>", "content": "<text>"}: `+err.Error(), http.StatusBadRequest)
		return
	}
	if req.To == "" || strings.TrimSpace(req.Content) == "" {
		http.Error(w, `both "to" and "content" are needed`, http.StatusBadRequest)
		return
	}
	from := r.PathValue("user")
	if err := s.emitter.EmitSync(from, Message{From: from, To: req.To, Content: req.Content}); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "sent to %s\n", req.To)
}

// feed answers the user's feed as text, one message a line, oldest first.
func (s *service) feed(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	value, err := s.view.Get(user)
	switch {
	case errors.Is(err, goka.ErrViewNotRecovered), errors.Is(err, goka.ErrViewNotRunning):
		http.Error(w, "the service is still starting, try again: "+err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	feed, _ := value.([]Message)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "feed of %s, %d messages:\n", user, len(feed))
	for _, m := range feed {
		fmt.Fprintf(w, "  %s: %s\n", m.From, m.Content)
	}
}
