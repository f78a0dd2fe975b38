package producer

import (
	"bytes"
	"testing"
)

func TestProducerLogsThroughLogger(t *testing.T) {
	logs := &bufferLogger{}
	c := &fakeClient{}
	cfg := testConfig(c)
	cfg.Logger = logs.logger()
	p := New(cfg)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Put([]byte("x"), "k"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	out := logs.String()
	for _, want := range []string{"producer started stream=test", "producer stopped stream=test user_records_put=1 user_records_failed=0"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
