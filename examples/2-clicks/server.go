package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/health"
)

// shutdownTimeout bounds how long the server waits for requests in flight
// when the program stops.
const shutdownTimeout = 5 * time.Second

// server serves the view over HTTP.
type server struct {
	http *http.Server
	ln   net.Listener
	url  string
}

// listen opens the listening socket at once, so the URL printed is the one
// with the port the system chose, before anything is served. Beside the
// counts it serves the liveness and readiness probes of probes, at /healthz
// and /readyz (patterns more specific than /{user}, so they win).
func listen(addr string, view *goka.View, probes *health.Server) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{user}", func(w http.ResponseWriter, r *http.Request) { getUser(w, r, view) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { listUsers(w, view) })
	mux.Handle("GET /healthz", probes.Liveness())
	mux.Handle("GET /readyz", probes.Readiness())
	return &server{
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		ln:   ln,
		url:  "http://" + ln.Addr().String(),
	}, nil
}

// serve serves until ctx ends, then shuts the server down gracefully.
func (s *server) serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.http.Serve(s.ln) }()
	select {
	case err := <-served:
		return err // Serve fails only when the listener does
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	if served := <-served; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}

// getUser answers the user's clicks as JSON. A view answers from its local
// copy; until it has read the whole table once it cannot tell "no clicks
// yet" from "not read yet", and says so with ErrViewNotRecovered.
func getUser(w http.ResponseWriter, r *http.Request, view *goka.View) {
	user := r.PathValue("user")
	value, err := view.Get(user)
	switch {
	case errors.Is(err, goka.ErrViewNotRecovered), errors.Is(err, goka.ErrViewNotRunning):
		http.Error(w, "the view is still starting, try again: "+err.Error(), http.StatusServiceUnavailable)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case value == nil:
		http.Error(w, fmt.Sprintf("no clicks of %q", user), http.StatusNotFound)
	default:
		writeJSON(w, value)
	}
}

// listUsers answers every user's clicks, walking the whole view.
func listUsers(w http.ResponseWriter, view *goka.View) {
	it, err := view.Iterator()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer it.Release()
	all := make(map[string]interface{})
	for it.Next() {
		value, err := it.Value()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		all[it.Key()] = value
	}
	if err := it.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, all)
}

func writeJSON(w http.ResponseWriter, value interface{}) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(value); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// awaitReady does what a deployment does before it sends traffic to a new
// instance: it asks the readiness probe at url every interval, printing
// each answer, until the answer is 200.
func awaitReady(ctx context.Context, url string, interval time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Printf("GET %s: %v\n", url, err)
		} else {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				fmt.Printf("GET %s: reading the answer: %v\n", url, err)
			} else {
				fmt.Printf("GET %s: %d %s\n", url, resp.StatusCode, strings.TrimSpace(string(body)))
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// pollCount does what a user would do with curl: it fetches url every
// interval and prints the answer, so the program's output shows the count
// growing as the server returns it.
func pollCount(ctx context.Context, url string, interval time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopping: the server may already be gone
			}
			fmt.Printf("GET %s: %v\n", url, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fmt.Printf("GET %s: reading the answer: %v\n", url, err)
			continue
		}
		fmt.Printf("GET %s: %d %s\n", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
}
