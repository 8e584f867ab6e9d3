package monitor

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/seed-b2c684ed/goka"
	"github.com/seed-b2c684ed/goka/web/internal/page"
)

var (
	indexFiles   = []string{"web/templates/monitor/edges.go.html", "web/templates/monitor/index.go.html"}
	detailsFiles = []string{"web/templates/monitor/edges.go.html", "web/templates/monitor/details.go.html"}
)

// edge is one line of a processor's graph: how it uses which topic, encoded
// with which codec type.
type edge struct {
	Kind  string
	Topic string
	Codec string
}

// component is a processor or view in the overview.
type component struct {
	Index int
	Name  string
	Href  string
	State string
	Edges []edge // processors only
}

type indexPage struct {
	page.Page
	Processors []component
	Views      []component
}

type detailsPage struct {
	page.Page
	Kind            string // "processor" or "view"
	State           string
	DataURL         string
	ScriptURL       string
	IntervalMillis  int64
	IntervalSeconds float64
	Edges           []edge
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	processors, views := s.snapshot()
	data := indexPage{Page: page.Page{Title: "Monitor", Menu: s.menu(processors, views, "")}}
	for i, p := range processors {
		data.Processors = append(data.Processors, component{
			Index: i,
			Name:  string(p.Graph().Group()),
			Href:  page.URL(s.basePath, "processor", strconv.Itoa(i)),
			State: processorState(p.StateReader().State()),
			Edges: graphEdges(p.Graph()),
		})
	}
	for i, v := range views {
		data.Views = append(data.Views, component{
			Index: i,
			Name:  v.Topic(),
			Href:  page.URL(s.basePath, "view", strconv.Itoa(i)),
			State: viewState(goka.State(v.CurrentState())),
		})
	}
	page.Render(w, s.log, http.StatusOK, data, indexFiles...)
}

func (s *Server) processorPage(w http.ResponseWriter, r *http.Request) {
	processors, views := s.snapshot()
	idx, ok := index(mux.Vars(r)["idx"], len(processors))
	if !ok {
		http.NotFound(w, r)
		return
	}
	p := processors[idx]
	href := page.URL(s.basePath, "processor", strconv.Itoa(idx))
	data := s.details("processor", fmt.Sprintf("Processor %s", p.Graph().Group()), idx, s.menu(processors, views, href))
	data.State = processorState(p.StateReader().State())
	data.Edges = graphEdges(p.Graph())
	page.Render(w, s.log, http.StatusOK, data, detailsFiles...)
}

func (s *Server) viewPage(w http.ResponseWriter, r *http.Request) {
	processors, views := s.snapshot()
	idx, ok := index(mux.Vars(r)["idx"], len(views))
	if !ok {
		http.NotFound(w, r)
		return
	}
	v := views[idx]
	href := page.URL(s.basePath, "view", strconv.Itoa(idx))
	data := s.details("view", fmt.Sprintf("View %s", v.Topic()), idx, s.menu(processors, views, href))
	data.State = viewState(goka.State(v.CurrentState()))
	page.Render(w, s.log, http.StatusOK, data, detailsFiles...)
}

func (s *Server) details(kind, title string, idx int, menu []page.Link) detailsPage {
	return detailsPage{
		Page:            page.Page{Title: title, Menu: menu},
		Kind:            kind,
		DataURL:         page.URL(s.basePath, "data", kind, strconv.Itoa(idx)),
		ScriptURL:       page.URL(s.basePath, "static", "monitor.js"),
		IntervalMillis:  pollInterval.Milliseconds(),
		IntervalSeconds: pollInterval.Seconds(),
	}
}

// menu links the overview and every processor and view; active is the href
// of the page shown, "" for the overview.
func (s *Server) menu(processors []*goka.Processor, views []*goka.View, active string) []page.Link {
	links := []page.Link{{Name: "Monitor", Href: page.Root(s.basePath), Active: active == ""}}
	for i, p := range processors {
		href := page.URL(s.basePath, "processor", strconv.Itoa(i))
		links = append(links, page.Link{Name: string(p.Graph().Group()), Href: href, Active: href == active})
	}
	for i, v := range views {
		href := page.URL(s.basePath, "view", strconv.Itoa(i))
		links = append(links, page.Link{Name: "view " + v.Topic(), Href: href, Active: href == active})
	}
	return links
}

// graphEdges lists the topics of a group by how it uses them.
func graphEdges(gg *goka.GroupGraph) []edge {
	var edges []edge
	add := func(kind string, list goka.Edges) {
		for _, e := range list {
			if e != nil {
				edges = append(edges, edge{Kind: kind, Topic: e.Topic(), Codec: fmt.Sprintf("%T", e.Codec())})
			}
		}
	}
	add("input", gg.InputStreams())
	add("join", gg.JointTables())
	add("lookup", gg.LookupTables())
	add("output", gg.OutputStreams())
	add("loop", goka.Edges{gg.LoopStream()})
	add("table", goka.Edges{gg.GroupTable()})
	for _, e := range gg.AllEdges() {
		// Visitors are the only edges without a codec: they run on the
		// group table with its codec.
		if e.Codec() == nil {
			edges = append(edges, edge{Kind: "visitor", Topic: e.Topic()})
		}
	}
	return edges
}

var (
	processorStates = map[goka.State]string{
		goka.ProcStateIdle:     "idle",
		goka.ProcStateStarting: "starting",
		goka.ProcStateSetup:    "setup",
		goka.ProcStateRunning:  "running",
		goka.ProcStateStopping: "stopping",
		goka.ProcStateStopped:  "stopped",
		// WithRestartOnError's pause between two runs.
		goka.ProcStateRestarting: "restarting",
	}
	viewStates = map[goka.State]string{
		goka.State(goka.ViewStateIdle):         "idle",
		goka.State(goka.ViewStateInitializing): "initializing",
		goka.State(goka.ViewStateConnecting):   "connecting",
		goka.State(goka.ViewStateCatchUp):      "recovering",
		goka.State(goka.ViewStateRunning):      "running",
	}
)

func processorState(s goka.State) string { return stateName(processorStates, s) }

func viewState(s goka.State) string { return stateName(viewStates, s) }

func stateName(names map[goka.State]string, s goka.State) string {
	if name, ok := names[s]; ok {
		return name
	}
	return "state-" + strconv.Itoa(int(s))
}
