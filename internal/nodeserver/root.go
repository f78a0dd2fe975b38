package nodeserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath identifies the repository root: the directory whose go.mod
// declares this module.
const ModulePath = "github.com/kplgo/producer"

// ErrNotInRepo is the error RepoRoot (and Start) return, wrapped, when no
// directory at or above the working directory is the repository root.
var ErrNotInRepo = errors.New("no go.mod for module " + ModulePath + " at or above the working directory")

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory whose go.mod declares module ModulePath.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(data, ModulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotInRepo
		}
		dir = parent
	}
}

// declaresModule reports whether the go.mod content declares module path.
func declaresModule(gomod []byte, path string) bool {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == path
		}
	}
	return false
}
