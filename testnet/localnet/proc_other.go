//go:build !linux

package localnet

import "syscall"

// childAttr puts a node in its own process group, so that a terminal's Ctrl-C goes to the
// orchestrator only (which stops the nodes itself).
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
