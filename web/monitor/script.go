package monitor

import (
	_ "embed"
	"net/http"
)

// script draws the live pages: it polls /data, computes rates from successive
// snapshots and renders the partitions.
//
//go:embed static/monitor.js
var script []byte

func serveScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	// Revalidate on every load, so a new binary's script is never mixed
	// with an old page.
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(script)
}
