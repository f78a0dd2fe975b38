package producer_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// seedProgram uses the API of the established producer's aws-sdk-go v1
// release the way its users' code does, with only the import path changed:
// it must keep compiling against the root package.
const seedProgram = `package main

import (
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/kinesis"
	"github.com/kplgo/producer"
	"github.com/kplgo/producer/loggers"
	"github.com/sirupsen/logrus"
	"go.uber.org/zap"
)

func main() {
	client := kinesis.New(session.New(aws.NewConfig()))
	pr := producer.New(&producer.Config{
		StreamName:   "test",
		BacklogCount: 2000,
		Client:       client,
		Logger:       loggers.Logrus(logrus.New()),
	})
	_ = &producer.Config{Logger: loggers.Zap(zap.NewNop())}
	_ = &producer.Config{Logger: &producer.StdLogger{Logger: log.New(os.Stdout, "", log.LstdFlags)}}
	pr.Start()
	go func() {
		for r := range pr.NotifyFailures() {
			log.Println(r.Err, len(r.UserRecords))
		}
	}()
	go func() {
		for i := 0; i < 5000; i++ {
			if err := pr.Put([]byte("foo"), "bar"); err != nil {
				log.Println(err)
			}
		}
	}()
	time.Sleep(3 * time.Second)
	pr.Stop()
}
`

// TestREADMEProgramsCompile builds every complete program of the README
// (the aws-sdk-go-v2 quick start and the v1 one) and seedProgram, each in a
// fresh module against this repository, offline.
func TestREADMEProgramsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	t.Parallel()
	runExclusively(t) // the compiler would starve the load tests' figures
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	programs := map[string]string{"seed": seedProgram}
	for i, m := range regexp.MustCompile("(?s)```go\n(package main\n.*?)```").FindAllStringSubmatch(string(readme), -1) {
		programs["readme-"+string(rune('a'+i))] = m[1]
	}
	if len(programs) < 3 {
		t.Fatalf("found %d README programs, want at least 2", len(programs)-1)
	}
	dir, goBin, env := freshModule(t, "readme")
	for name, src := range programs {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name, "main.go"), src)
	}
	run(t, dir, env, goBin, "vet", "./...")
}
