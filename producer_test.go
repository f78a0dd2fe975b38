package producer

import (
	"fmt"
	"sync"
	"testing"
)

func TestPutAndStopDeliversEverything(t *testing.T) {
	for _, mode := range []string{"single", "shards"} {
		t.Run(mode, func(t *testing.T) {
			c := &fakeClient{}
			cfg := testConfig(c)
			if mode == "shards" {
				cfg.GetShards = StaticGetShardsFunc(8)
			}
			p := New(cfg)
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			want := make(map[string]string)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 5000; i++ {
						data := recordData(g*100000 + i)
						key := fmt.Sprintf("key-%d", i%97)
						mu.Lock()
						want[string(data)] = key
						mu.Unlock()
						if err := p.Put(data, key); err != nil {
							t.Error(err)
							return
						}
					}
				}(g)
			}
			wg.Wait()
			p.Stop()
			checkAllDelivered(t, want, c.userRecords(t))
		})
	}
}
