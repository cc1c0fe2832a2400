package sdknet

import "syscall"

// childAttr puts an app in its own process group and has the kernel kill it if the test
// process dies without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
