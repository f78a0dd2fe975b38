package engine

import (
	"bytes"
	"io"
	"runtime/trace"
	"sync"
	"testing"
)

// TestLanesUnderExecutionTracer hashes aggregates and partition keys in
// SIMD lanes while the execution tracer runs. The tracer walks goroutine
// stacks by frame pointer at every channel send and wake-up, so assembly
// that clobbers the frame pointer register crashes the whole process here
// (a SIGSEGV in runtime.fpTracebackPCs), as md5-simd v1.1.2, which the lanes
// used before, did. The block and mutex profilers walk stacks the same way.
func TestLanesUnderExecutionTracer(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already running")
	}
	if err := trace.Start(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer trace.Stop()
	msgs := make([][]byte, 20)
	for i := range msgs {
		msgs[i] = bytes.Repeat([]byte{byte(i)}, 8<<10+i*100)
	}
	var wg sync.WaitGroup
	handoff := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if diff := sumsDiffer(msgs, laneSums); diff != "" {
					t.Error(diff)
					return
				}
				rs := make([]record, 40)
				for i := range rs {
					rs[i].key = string(rune('a' + i))
				}
				hashRecords(rs)
				select { // a wake-up the tracer records with a stack
				case handoff <- struct{}{}:
				case <-handoff:
				default:
				}
			}
		}()
	}
	wg.Wait()
}
