package main

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkSource type-checks one package from source; imports resolve to the
// packages checked before it, or to the standard library.
func checkSource(t *testing.T, fset *token.FileSet, path, src string, known map[string]*types.Package) *types.Package {
	t.Helper()
	f, err := parser.ParseFile(fset, path+".go", src, 0)
	require.NoError(t, err)
	std := importer.Default()
	cfg := types.Config{Importer: importerFunc(func(p string) (*types.Package, error) {
		if pkg, ok := known[p]; ok {
			return pkg, nil
		}
		return std.Import(p)
	})}
	pkg, err := cfg.Check(path, fset, []*ast.File{f}, nil)
	require.NoError(t, err)
	known[path] = pkg
	return pkg
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// The writer produces the reference's line forms: constants with their
// values, variadic parameters, `any` as interface{}, embedded fields,
// promoted methods with the receiver of the method set they are in, and a
// type whose only public name is an alias written as declared there.
func TestWriterLineForms(t *testing.T) {
	fset := token.NewFileSet()
	known := map[string]*types.Package{}
	checkSource(t, fset, "example.com/m/internal/sig", `package sig
type State int
type Signal struct{ s State }
func (s *Signal) State() State { return s.s }
`, known)
	pkg := checkSource(t, fset, "example.com/m", `package m
import (
	"context"
	"sync"
	"example.com/m/internal/sig"
)
type Kind int
const Answer Kind = 42
type State = sig.State
type Signal = sig.Signal
var ErrX error
func Do(ctx context.Context, names ...string) (any, error) { return nil, nil }
func Watch() <-chan struct{} { return nil }
type Option func(*options)
type options struct{}
type Iface interface {
	Get(key string) (any, error)
	Close()
}
type Locked struct {
	sync.Mutex
	Name   string
	hidden int
	Nested struct{ A int; B string }
}
func (l *Locked) Set(v any) {}
func (l Locked) Value() any { return l.hidden }
type Wrapper struct{ *Locked }
`, known)

	got := newWriter("example.com/m", []*types.Package{pkg}).lines([]*types.Package{pkg})
	want := []string{
		"goka const Answer goka.Kind = 42",
		"goka field Locked.Mutex sync.Mutex (embedded)",
		"goka field Locked.Name string",
		"goka field Locked.Nested struct{A int; B string}",
		"goka field Wrapper.Locked *goka.Locked (embedded)",
		"goka func Do(context.Context, ...string) (interface{}, error)",
		"goka func Watch() <-chan struct{}",
		"goka imethod Iface.Close()",
		"goka imethod Iface.Get(string) (interface{}, error)",
		"goka method (*Locked) Lock() (promoted)",
		"goka method (*Locked) Set(interface{})",
		"goka method (*Locked) TryLock() bool (promoted)",
		"goka method (*Locked) Unlock() (promoted)",
		"goka method (*Signal) State() goka.State",
		"goka method (Locked) Value() interface{}",
		"goka method (Wrapper) Lock() (promoted)",
		"goka method (Wrapper) Set(interface{}) (promoted)",
		"goka method (Wrapper) TryLock() bool (promoted)",
		"goka method (Wrapper) Unlock() (promoted)",
		"goka method (Wrapper) Value() interface{} (promoted)",
		"goka type Iface interface",
		"goka type Kind int",
		"goka type Locked struct",
		"goka type Option func(*goka.options)",
		"goka type Signal struct",
		"goka type State int",
		"goka type Wrapper struct",
		"goka var ErrX error",
	}
	sort.Strings(want)
	assert.Equal(t, want, got)
}

// Two public names for one type are visible to a program (a type switch
// cannot have both cases), so neither is written as a declaration.
func TestWriterAliasWithTwoNames(t *testing.T) {
	fset := token.NewFileSet()
	known := map[string]*types.Package{}
	checkSource(t, fset, "example.com/m/internal/sig", "package sig\ntype State int\n", known)
	pkg := checkSource(t, fset, "example.com/m", `package m
import "example.com/m/internal/sig"
type State = sig.State
type ViewState = sig.State
`, known)
	got := newWriter("example.com/m", []*types.Package{pkg}).lines([]*types.Package{pkg})
	assert.Equal(t, []string{
		"goka type State = goka/internal/sig.State",
		"goka type ViewState = goka/internal/sig.State",
	}, got)
}

// moduleLines reads this module's own export data once for the tests that
// need it.
func moduleLines(t *testing.T) []string {
	t.Helper()
	lines, err := exportedLines("../..")
	require.NoError(t, err)
	return lines
}

func readFileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	lines, err := readLines(f)
	require.NoError(t, err)
	return lines
}

func readFileDivergences(t *testing.T, path string) []divergence {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	divs, err := readDivergences(f)
	require.NoError(t, err)
	return divs
}

// The check fails when a signature is not goka's: here the reference is
// doctored instead of the code, which is the same disagreement.
func TestCheckFailsOnDoctoredReference(t *testing.T) {
	ours := moduleLines(t)
	reference := readFileLines(t, "goka-v1.1.16-exports.txt")
	divs := readFileDivergences(t, "divergences.txt")
	before := compare(reference, ours, divs)

	const kept = "goka func NewProcessor([]string, *goka.GroupGraph, ...goka.ProcessorOption) (*goka.Processor, error)"
	require.Contains(t, ours, kept, "the line the test doctors is ours")
	doctored := make([]string, 0, len(reference))
	for _, l := range reference {
		if l == kept {
			l = "goka func NewProcessor([]string, *goka.GroupGraph, ...goka.ProcessorOption) *goka.Processor"
		}
		doctored = append(doctored, l)
	}
	after := compare(doctored, ours, divs)
	require.Len(t, after, len(before)+1)
	var found string
	for _, p := range after {
		if strings.Contains(p, "NewProcessor") {
			found = p
		}
	}
	assert.Contains(t, found, "missing or different here: goka func NewProcessor([]string, *goka.GroupGraph, ...goka.ProcessorOption) *goka.Processor")
	assert.Contains(t, found, "here: "+kept, "the message shows our version next to goka's")
}

// A line of ours that changes is caught the same way, and one that
// disappears too.
func TestCheckFailsOnChangedOrMissingLine(t *testing.T) {
	reference := []string{
		"goka func A() error",
		"goka func B(int)",
		"goka type C struct",
	}
	ours := []string{"goka func A() (int, error)", "goka type C struct", "goka func Extra()"}
	problems := compare(reference, ours, nil)
	require.Len(t, problems, 2)
	assert.Equal(t, "missing or different here: goka func A() error\n\there: goka func A() (int, error)", problems[0])
	assert.Equal(t, "missing or different here: goka func B(int)", problems[1])
}

func TestDivergenceNeedsReason(t *testing.T) {
	_, err := readDivergences(strings.NewReader(`# header
goka func A() error
	A returns more here, because.

goka func B(int)
goka func C()
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 5: divergence without a reason: goka func B(int)")
	assert.Contains(t, err.Error(), "line 6: divergence without a reason: goka func C()")
	assert.NotContains(t, err.Error(), "func A")
}

// Several entries in a row share the reason that follows them, and the
// next entry after a reason starts a new group.
func TestDivergenceGroupsShareReason(t *testing.T) {
	divs, err := readDivergences(strings.NewReader(`goka func A()
goka func B()
	Both are gone,
	for one reason.
goka func C()
	Another.
`))
	require.NoError(t, err)
	require.Len(t, divs, 3)
	assert.Equal(t, "Both are gone, for one reason.", divs[0].reason)
	assert.Equal(t, divs[0].reason, divs[1].reason)
	assert.Equal(t, "Another.", divs[2].reason)
}

// A listed divergence passes the check; one that no longer diverges, or was
// never goka's, is itself a problem, so the list cannot go stale.
func TestDivergenceListStaysExact(t *testing.T) {
	reference := []string{"goka func A() error", "goka func B()"}
	ours := []string{"goka func B()"}
	assert.Empty(t, compare(reference, ours, []divergence{{line: "goka func A() error", reason: "r"}}))

	problems := compare(reference, ours, []divergence{
		{line: "goka func A() error", reason: "r"},
		{line: "goka func B()", reason: "r"},
		{line: "goka func Z()", reason: "r"},
	})
	assert.Equal(t, []string{
		"divergence no longer diverges, remove it from the list: goka func B()",
		"divergence is not a line of the reference: goka func Z()",
	}, problems)
}

// Every listed divergence is a line of the reference, with a reason.
func TestDivergenceFileIsWellFormed(t *testing.T) {
	reference := readFileLines(t, "goka-v1.1.16-exports.txt")
	inRef := map[string]bool{}
	for _, l := range reference {
		inRef[l] = true
	}
	for _, d := range readFileDivergences(t, "divergences.txt") {
		assert.True(t, inRef[d.line], "not a reference line: %s", d.line)
		assert.NotEmpty(t, d.reason, d.line)
	}
}

func TestReadmeNamesEveryDivergence(t *testing.T) {
	readme := "# x\n\n## Migrating from goka\n\n| goka | here |\n| `Processor.Setup` | internal |\n| `tester.New(t)` | options |\n\n## Next\n`Wait`\n"
	problems := checkReadme(readme, []divergence{
		{line: "goka method (*Processor) Setup(github.com/IBM/sarama.ConsumerGroupSession) error"},
		{line: "goka/tester func New(goka/tester.T) *goka/tester.Tester"},
		{line: "goka/multierr method (*ErrGroup) Wait() *github.com/hashicorp/go-multierror.Error"},
		{line: "goka field TopicManagerConfig.Logger goka.logger"},
	})
	assert.Equal(t, []string{
		"divergence not in the README's migration table: goka/multierr method (*ErrGroup) Wait() *github.com/hashicorp/go-multierror.Error",
		"divergence not in the README's migration table: goka field TopicManagerConfig.Logger goka.logger",
	}, problems, "a name outside the section does not count")
}

func TestReadmeOfThisModuleNamesEveryDivergence(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	assert.Empty(t, checkReadme(string(readme), readFileDivergences(t, "divergences.txt")))
}
