package nodeserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDeclaresModule(t *testing.T) {
	for _, c := range []struct {
		gomod string
		want  bool
	}{
		{"module github.com/kplgo/producer\n\ngo 1.24\n", true},
		{"// comment\nmodule \"github.com/kplgo/producer\"\n", true},
		{"  module   github.com/kplgo/producer  // trailing\n", true},
		{"module github.com/kplgo/producer/v2\n", false},
		{"module example.com/other\nmodule github.com/kplgo/producer\n", false}, // the first module line counts
		{"go 1.24\n", false},
		{"", false},
	} {
		if got := declaresModule([]byte(c.gomod), ModulePath); got != c.want {
			t.Errorf("declaresModule(%q) = %v, want %v", c.gomod, got, c.want)
		}
	}
}

// TestRepoRoot finds the repository root from this package's directory, and
// reports ErrNotInRepo outside the repository. It is not parallel because it
// changes the working directory.
func TestRepoRoot(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("RepoRoot: %v", err)
	}
	if want := filepath.Join(root, "internal", "nodeserver"); want != wd {
		t.Errorf("RepoRoot = %s; the working directory %s is not its internal/nodeserver", root, wd)
	}
	t.Chdir(t.TempDir())
	if root, err := RepoRoot(); !errors.Is(err, ErrNotInRepo) {
		t.Errorf("RepoRoot outside the repository = %q, %v; want %v", root, err, ErrNotInRepo)
	}
	if srv, err := Start(context.Background(), Kinesalite); !errors.Is(err, ErrNotInRepo) {
		if srv != nil {
			srv.Close()
		}
		t.Errorf("Start outside the repository: %v, want %v", err, ErrNotInRepo)
	}
}
