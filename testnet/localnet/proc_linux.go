package localnet

import "syscall"

// childAttr puts a node in its own process group (a terminal's Ctrl-C goes to the
// orchestrator only) and has the kernel send it SIGTERM if the orchestrator dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
