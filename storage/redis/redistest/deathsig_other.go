//go:build !linux

package redistest

import "syscall"

// setDeathSignal does nothing where the kernel offers no parent-death
// signal; Close is then the only way the server stops.
func setDeathSignal(*syscall.SysProcAttr) {}
