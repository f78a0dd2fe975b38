//go:build !unix

package main

import "os"

// ansiTerminal reports whether terminals here take ANSI escape sequences:
// not assumed (a Windows console takes them only when a program turns them
// on), so the progress line is redrawn with spaces over the rest of the
// line instead.
const ansiTerminal = false

// terminalColumns reports whether f is a terminal (a character device); its
// width is not measured here (0: COLUMNS or defaultColumns apply).
func terminalColumns(f *os.File) (cols int, terminal bool) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	return 0, fi.Mode()&os.ModeCharDevice != 0
}
