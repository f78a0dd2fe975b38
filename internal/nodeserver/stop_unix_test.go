//go:build unix

package nodeserver

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCloseKillsStubbornServer checks that a server that ignores SIGTERM and
// its stdin is killed after StopGrace.
func TestCloseKillsStubbornServer(t *testing.T) {
	t.Parallel()
	kind := fakeKind(t, `
process.on('SIGTERM', function() { console.log('ignoring SIGTERM') })
setInterval(function() {}, 1000)
console.log('listening 1')
`)
	srv, err := Start(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	err = srv.Close()
	if d := time.Since(begin); d < StopGrace || d > StopGrace+2*time.Second {
		t.Errorf("Close took %v, want about %v", d, StopGrace)
	}
	if err == nil || !strings.Contains(err.Error(), "ignored SIGTERM for 3s and was killed") {
		t.Errorf("Close = %v", err)
	}
	select {
	case <-srv.exited:
	default:
		t.Error("Close returned before the process was reaped")
	}
}
