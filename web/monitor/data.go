package monitor

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
)

// data answers the stats of one processor or view as JSON. The keys are the
// field names of goka's stats types, which the live pages and goka's own
// tools read.
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	processors, views := s.snapshot()
	ctx, cancel := context.WithTimeout(r.Context(), statsTimeout)
	defer cancel()

	var stats any
	switch vars["kind"] {
	case "processor":
		idx, ok := index(vars["idx"], len(processors))
		if !ok {
			http.NotFound(w, r)
			return
		}
		stats = processors[idx].StatsWithContext(ctx)
	case "view":
		idx, ok := index(vars["idx"], len(views))
		if !ok {
			http.NotFound(w, r)
			return
		}
		stats = views[idx].Stats(ctx)
	default:
		http.NotFound(w, r)
		return
	}
	taken := time.Now()
	body, err := json.Marshal(stats)
	if err != nil {
		s.log.Printf("monitor: encoding stats: %v", err)
		http.Error(w, "encoding the stats failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// The live page computes rates over the server's clock; views have no
	// time in their stats.
	w.Header().Set("X-Stats-Time", strconv.FormatInt(taken.UnixMilli(), 10))
	_, _ = w.Write(body)
}

// index parses the index of a path; ok is false unless it is a number in
// [0, count).
func index(text string, count int) (int, bool) {
	idx, err := strconv.Atoi(text)
	if err != nil || idx < 0 || idx >= count {
		return 0, false
	}
	return idx, true
}
