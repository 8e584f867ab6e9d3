package redistest

import "syscall"

// setDeathSignal has the kernel kill the server when the process that
// started it dies, so that a test binary killed by its timeout or a crash
// leaves no redis-server behind.
func setDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
