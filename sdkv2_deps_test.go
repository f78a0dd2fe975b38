package producer_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// v2Program is a program that uses the producer through package sdkv2 with
// the aws-sdk-go-v2 client only.
const v2Program = `package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/kplgo/producer/sdkv2"
)

func main() {
	client := kinesis.New(kinesis.Options{Region: "us-east-1"})
	p := sdkv2.New(&sdkv2.Config{
		StreamName: "s",
		Client:     client,
		GetShards:  sdkv2.GetKinesisShardsFunc(client, "s"),
		Logger:     sdkv2.Slog(slog.Default()),
	})
	if err := p.Start(context.Background()); err != nil {
		return
	}
	_ = p.Put(context.Background(), []byte("x"), "k")
	p.Stop()
}
`

// TestV2ProgramPaysForV2Only builds v2Program in a fresh module, with an
// empty module cache fed from this machine's (offline), and checks that it
// imports no aws-sdk-go v1, logrus or zap package and that building it did
// not fetch the aws-sdk-go v1 module's zip (only its go.mod, which module
// graph resolution reads).
func TestV2ProgramPaysForV2Only(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	t.Parallel()
	runExclusively(t) // the compiler would starve the load tests' figures
	dir, goBin, env := freshModule(t, "v2only")
	write(t, filepath.Join(dir, "main.go"), v2Program)
	fresh := filepath.Join(dir, "modcache")

	run(t, dir, env, goBin, "build", "-o", filepath.Join(dir, "v2only"), ".")
	deps := run(t, dir, env, goBin, "list", "-deps", ".")
	for _, banned := range []string{"github.com/aws/aws-sdk-go/", "github.com/sirupsen/logrus", "go.uber.org/zap"} {
		for _, pkg := range strings.Fields(deps) {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("the v2-only program imports %s", pkg)
			}
		}
	}
	if !strings.Contains(deps, "github.com/kplgo/producer/sdkv2") {
		t.Fatalf("go list -deps does not show sdkv2:\n%s", deps)
	}
	zips, _ := filepath.Glob(filepath.Join(fresh, "cache", "download", "github.com", "aws", "aws-sdk-go", "@v", "*.zip"))
	if len(zips) > 0 {
		t.Errorf("building the v2-only program downloaded %v", zips)
	}
	if _, err := os.Stat(filepath.Join(fresh, "github.com", "aws", "aws-sdk-go@v1.55.8")); err == nil {
		t.Error("building the v2-only program unpacked aws-sdk-go v1")
	}
}

// freshModule makes a module named name in a temporary directory that
// requires this repository (by a replace directive) with its go.sum, and
// returns it with the go command and the environment that builds in it
// offline: an empty module cache of its own (dir/modcache), fed from this
// machine's. The module cache is removed when the test ends.
func freshModule(t *testing.T, name string) (dir, goBin string, env []string) {
	t.Helper()
	goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cache := strings.TrimSpace(run(t, repo, nil, goBin, "env", "GOMODCACHE"))
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module "+name+"\n\ngo 1.24\n\nrequire github.com/kplgo/producer v0.0.0\n\nreplace github.com/kplgo/producer => "+repo+"\n")
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	env = []string{
		"GOMODCACHE=" + filepath.Join(dir, "modcache"),
		"GOPROXY=file://" + filepath.ToSlash(filepath.Join(cache, "cache", "download")),
		"GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local",
	}
	t.Cleanup(func() { run(t, dir, env, goBin, "clean", "-modcache") })
	return dir, goBin, env
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a command in dir with env added and returns its output.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}
