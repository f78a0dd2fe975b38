package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFilesAreCurrent: each door's shared_gen.go is what the
// template gives now, so that an edit of one copy alone fails here.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for _, d := range doors {
		want, err := render(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(d.path("../.."))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what internal/doorgen writes: run go generate in the module root", d.path("../.."))
		}
	}
}
