//go:build !linux

package sdknet

import "syscall"

// childAttr puts an app in its own process group.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
