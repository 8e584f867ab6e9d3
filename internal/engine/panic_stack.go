package engine

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// libraryDir is the directory of the root package's sources (two levels up
// from this one's), whose frames a panic report leaves out: the user wants
// to see their callback, not ours.
var libraryDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}()

// UserStack returns the stack of the current goroutine without the frames of
// the Go runtime and of the library's root and internal packages, one
// "function\n\tfile:line" pair per frame. It is called from the deferred recover of a callback, whose
// stack still holds the frames of the panic.
func UserStack() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		if !isLibraryFrame(f) {
			fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return b.String()
}

func isLibraryFrame(f runtime.Frame) bool {
	if strings.HasPrefix(f.Function, "runtime.") || f.Function == "" {
		return true
	}
	if strings.HasSuffix(f.File, "_test.go") {
		return false
	}
	dir := filepath.Dir(f.File)
	return dir == libraryDir || strings.HasPrefix(dir, libraryInternal)
}

// libraryInternal is the prefix of the library's internal packages, whose
// frames (the table restore calling an update callback) a report leaves out
// as well.
var libraryInternal = filepath.Join(libraryDir, "internal") + string(filepath.Separator)

// PanicError turns what recover returned into an error naming the user code
// that panicked (what: "callback", "codec Decode", ...) with the user's
// frames of the panicking stack. It must be called from the deferred
// function that recovered, whose stack still holds those frames. A panic
// with an error value wraps it, so errors.Is and errors.As see it.
func PanicError(what string, r interface{}) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("panic in %s: %w\n%s", what, err, UserStack())
	}
	return fmt.Errorf("panic in %s: %v\n%s", what, r, UserStack())
}
