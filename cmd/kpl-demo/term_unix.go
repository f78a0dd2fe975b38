//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// ansiTerminal reports whether terminals here take ANSI escape sequences:
// unix terminals (and their emulators) do.
const ansiTerminal = true

// terminalColumns returns the width of the terminal f is, 0 when the
// terminal does not say, and whether f is a terminal: the TIOCGWINSZ ioctl
// succeeds on terminals only.
func terminalColumns(f *os.File) (cols int, terminal bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var ws *unix.Winsize
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ws, ioErr = unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ) }); err != nil || ioErr != nil {
		return 0, false
	}
	return int(ws.Col), true
}
