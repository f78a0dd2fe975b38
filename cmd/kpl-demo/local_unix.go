//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// detach starts the local server in a process group of its own, so that a
// Ctrl-C in a terminal (a SIGINT to the whole foreground group) does not take
// the server down while the demo still stops its producer. The server still
// exits when its stdin closes, when Close is called, or when the demo dies.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
