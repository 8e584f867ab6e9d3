package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// listedPackage is the part of `go list -json` output the check reads.
type listedPackage struct {
	ImportPath string
	Name       string
	Export     string
	DepOnly    bool
	Module     *struct {
		Path string
		Main bool
	}
	Error *struct{ Err string }
}

// goList runs `go list -json` with args in dir and decodes its stream of
// objects.
func goList(dir string, args ...string) ([]listedPackage, error) {
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: package %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// publicPackages returns the module's path and the import paths of its
// packages a user can import: no commands, nothing under internal/.
func publicPackages(dir string) (string, []string, error) {
	pkgs, err := goList(dir, "./...")
	if err != nil {
		return "", nil, err
	}
	var module string
	var paths []string
	for _, p := range pkgs {
		if p.Module == nil || !p.Module.Main || p.Name == "main" {
			continue
		}
		module = p.Module.Path
		if p.ImportPath == module+"/internal" || strings.Contains(p.ImportPath, "/internal/") {
			continue
		}
		paths = append(paths, p.ImportPath)
	}
	if module == "" {
		return "", nil, fmt.Errorf("no library package found in %s", dir)
	}
	return module, paths, nil
}

// loadPackages type-checks nothing itself: it reads the compiler's export
// data of the module's public packages, which `go list -export` builds (or
// finds in the build cache), the same facts a program importing them sees.
func loadPackages(dir string) (string, []*types.Package, error) {
	module, paths, err := publicPackages(dir)
	if err != nil {
		return "", nil, err
	}
	deps, err := goList(dir, append([]string{"-export", "-deps"}, paths...)...)
	if err != nil {
		return "", nil, err
	}
	exportFiles := make(map[string]string, len(deps))
	for _, p := range deps {
		exportFiles[p.ImportPath] = p.Export
	}
	lookup := func(path string) (io.ReadCloser, error) {
		file, ok := exportFiles[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", lookup)
	var out []*types.Package
	for _, path := range paths {
		pkg, err := imp.Import(path)
		if err != nil {
			return "", nil, fmt.Errorf("reading export data of %s: %w", path, err)
		}
		out = append(out, pkg)
	}
	return module, out, nil
}

// writer renders the declarations of a module's packages in the reference's
// line format.
type writer struct {
	module string
	// shown names a type that users reach only through an exported alias
	// (type State = signal.State) by that alias, as a user writes it.
	shown map[*types.TypeName]string
}

func newWriter(module string, pkgs []*types.Package) *writer {
	w := &writer{module: module, shown: map[*types.TypeName]string{}}
	public := map[*types.Package]bool{}
	for _, p := range pkgs {
		public[p] = true
	}
	targets := map[*types.TypeName][]string{}
	for _, p := range pkgs {
		for _, name := range p.Scope().Names() {
			tn, ok := p.Scope().Lookup(name).(*types.TypeName)
			if !ok || !tn.Exported() || !tn.IsAlias() {
				continue
			}
			named, ok := types.Unalias(tn.Type()).(*types.Named)
			if !ok || named.Obj().Pkg() == nil || public[named.Obj().Pkg()] {
				continue
			}
			targets[named.Obj()] = append(targets[named.Obj()], w.qualify(p)+"."+name)
		}
	}
	for obj, names := range targets {
		// Two public names for one type are an alias a user can see; only a
		// single name stands for the type.
		if len(names) == 1 {
			w.shown[obj] = names[0]
		}
	}
	return w
}

// qualify writes a package path, the module's own as `goka`.
func (w *writer) qualify(p *types.Package) string {
	path := p.Path()
	switch {
	case path == w.module:
		return "goka"
	case strings.HasPrefix(path, w.module+"/"):
		return "goka" + strings.TrimPrefix(path, w.module)
	}
	return path
}

// lines returns every line of the packages, sorted within each package.
func (w *writer) lines(pkgs []*types.Package) []string {
	var all []string
	for _, p := range pkgs {
		var lines []string
		prefix := w.qualify(p) + " "
		for _, name := range p.Scope().Names() {
			obj := p.Scope().Lookup(name)
			if !obj.Exported() {
				continue
			}
			for _, l := range w.object(obj) {
				lines = append(lines, prefix+l)
			}
		}
		sort.Strings(lines)
		all = append(all, lines...)
	}
	return all
}

func (w *writer) object(obj types.Object) []string {
	switch o := obj.(type) {
	case *types.Const:
		return []string{fmt.Sprintf("const %s %s = %s", o.Name(), w.typ(o.Type()), o.Val().ExactString())}
	case *types.Var:
		return []string{fmt.Sprintf("var %s %s", o.Name(), w.typ(o.Type()))}
	case *types.Func:
		return []string{"func " + o.Name() + w.signature(o.Type().(*types.Signature))}
	case *types.TypeName:
		return w.typeName(o)
	}
	return nil
}

func (w *writer) typeName(tn *types.TypeName) []string {
	name := tn.Name()
	if tn.IsAlias() {
		named, ok := types.Unalias(tn.Type()).(*types.Named)
		if !ok || w.shown[named.Obj()] == "" {
			return []string{fmt.Sprintf("type %s = %s", name, w.typ(types.Unalias(tn.Type())))}
		}
		// The alias is the type's only public name: it is declared here as
		// far as a user can tell.
		return w.named(name, named)
	}
	named, ok := tn.Type().(*types.Named)
	if !ok {
		return nil
	}
	return w.named(name, named)
}

func (w *writer) named(name string, named *types.Named) []string {
	var lines []string
	switch u := named.Underlying().(type) {
	case *types.Struct:
		lines = append(lines, "type "+name+" struct")
		for i := 0; i < u.NumFields(); i++ {
			f := u.Field(i)
			if !f.Exported() {
				continue
			}
			l := fmt.Sprintf("field %s.%s %s", name, f.Name(), w.typ(f.Type()))
			if f.Embedded() {
				l += " (embedded)"
			}
			lines = append(lines, l)
		}
	case *types.Interface:
		lines = append(lines, "type "+name+" interface")
		for i := 0; i < u.NumMethods(); i++ {
			m := u.Method(i)
			if m.Exported() {
				lines = append(lines, fmt.Sprintf("imethod %s.%s%s", name, m.Name(), w.signature(m.Type().(*types.Signature))))
			}
		}
		return lines
	default:
		lines = append(lines, "type "+name+" "+w.typ(u))
	}

	for i := 0; i < named.NumMethods(); i++ {
		m := named.Method(i)
		if !m.Exported() {
			continue
		}
		recv := name
		if _, ptr := m.Type().(*types.Signature).Recv().Type().(*types.Pointer); ptr {
			recv = "*" + name
		}
		lines = append(lines, fmt.Sprintf("method (%s) %s%s", recv, m.Name(), w.signature(m.Type().(*types.Signature))))
	}
	// Methods a type gets through an embedded field: those of the value's
	// method set have the value receiver, the others the pointer one.
	valueSet := types.NewMethodSet(named)
	inValueSet := map[string]bool{}
	for i := 0; i < valueSet.Len(); i++ {
		sel := valueSet.At(i)
		inValueSet[sel.Obj().Name()] = true
		if len(sel.Index()) > 1 && sel.Obj().Exported() {
			lines = append(lines, fmt.Sprintf("method (%s) %s%s (promoted)", name, sel.Obj().Name(), w.signature(sel.Obj().Type().(*types.Signature))))
		}
	}
	ptrSet := types.NewMethodSet(types.NewPointer(named))
	for i := 0; i < ptrSet.Len(); i++ {
		sel := ptrSet.At(i)
		if len(sel.Index()) > 1 && sel.Obj().Exported() && !inValueSet[sel.Obj().Name()] {
			lines = append(lines, fmt.Sprintf("method (*%s) %s%s (promoted)", name, sel.Obj().Name(), w.signature(sel.Obj().Type().(*types.Signature))))
		}
	}
	return lines
}

// signature writes a function's parameter and result types, without names.
func (w *writer) signature(sig *types.Signature) string {
	var b strings.Builder
	b.WriteString("(")
	params := sig.Params()
	for i := 0; i < params.Len(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		t := params.At(i).Type()
		if sig.Variadic() && i == params.Len()-1 {
			if s, ok := t.(*types.Slice); ok {
				b.WriteString("..." + w.typ(s.Elem()))
				continue
			}
		}
		b.WriteString(w.typ(t))
	}
	b.WriteString(")")
	results := sig.Results()
	switch results.Len() {
	case 0:
	case 1:
		b.WriteString(" " + w.typ(results.At(0).Type()))
	default:
		b.WriteString(" (")
		for i := 0; i < results.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(w.typ(results.At(i).Type()))
		}
		b.WriteString(")")
	}
	return b.String()
}

// typ writes a type with full package paths (the module's as `goka`) and
// `any` as `interface{}`.
func (w *writer) typ(t types.Type) string {
	switch t := t.(type) {
	case *types.Basic:
		return t.String()
	case *types.Alias:
		if t.Obj().Pkg() == nil && t.Obj().Name() == "any" {
			return "interface{}"
		}
		return w.typeRef(t.Obj(), t.TypeArgs())
	case *types.Named:
		if name, ok := w.shown[t.Obj()]; ok {
			return name
		}
		return w.typeRef(t.Obj(), t.TypeArgs())
	case *types.Pointer:
		return "*" + w.typ(t.Elem())
	case *types.Slice:
		return "[]" + w.typ(t.Elem())
	case *types.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), w.typ(t.Elem()))
	case *types.Map:
		return "map[" + w.typ(t.Key()) + "]" + w.typ(t.Elem())
	case *types.Chan:
		switch t.Dir() {
		case types.SendOnly:
			return "chan<- " + w.typ(t.Elem())
		case types.RecvOnly:
			return "<-chan " + w.typ(t.Elem())
		}
		return "chan " + w.typ(t.Elem())
	case *types.Signature:
		return "func" + w.signature(t)
	case *types.Struct:
		var fields []string
		for i := 0; i < t.NumFields(); i++ {
			f := t.Field(i)
			if f.Embedded() {
				fields = append(fields, w.typ(f.Type()))
			} else {
				fields = append(fields, f.Name()+" "+w.typ(f.Type()))
			}
		}
		return "struct{" + strings.Join(fields, "; ") + "}"
	case *types.Interface:
		var parts []string
		for i := 0; i < t.NumEmbeddeds(); i++ {
			parts = append(parts, w.typ(t.EmbeddedType(i)))
		}
		for i := 0; i < t.NumExplicitMethods(); i++ {
			m := t.ExplicitMethod(i)
			parts = append(parts, m.Name()+w.signature(m.Type().(*types.Signature)))
		}
		return "interface{" + strings.Join(parts, "; ") + "}"
	case *types.TypeParam:
		return t.Obj().Name()
	case *types.Union:
		var terms []string
		for i := 0; i < t.Len(); i++ {
			term := t.Term(i)
			s := w.typ(term.Type())
			if term.Tilde() {
				s = "~" + s
			}
			terms = append(terms, s)
		}
		return strings.Join(terms, " | ")
	}
	return t.String()
}

func (w *writer) typeRef(obj *types.TypeName, args *types.TypeList) string {
	s := obj.Name()
	if obj.Pkg() != nil {
		s = w.qualify(obj.Pkg()) + "." + s
	}
	if args.Len() > 0 {
		var as []string
		for i := 0; i < args.Len(); i++ {
			as = append(as, w.typ(args.At(i)))
		}
		s += "[" + strings.Join(as, ", ") + "]"
	}
	return s
}
