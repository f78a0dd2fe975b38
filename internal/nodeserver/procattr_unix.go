//go:build unix

package nodeserver

import (
	"os/exec"
	"syscall"
)

// detach starts the server in a process group of its own, so that a Ctrl-C
// in a terminal (a SIGINT to the whole foreground group) does not take the
// server down under a program that is still using it, such as the demo while
// it stops its producer. The server still exits when its stdin closes, when
// Close is called, or when the process that started it dies.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
