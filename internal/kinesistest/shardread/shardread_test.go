package shardread

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fakeShard answers GetRecords calls from a list of pages: the iterator of
// call i is "i", and the last page's next iterator is nil when the shard is
// closed. Past the list it answers empty pages at the tip.
type fakeShard struct {
	pages  []Page[int]
	closed bool
	calls  int
}

func (f *fakeShard) getRecords(iter *string) (Page[int], error) {
	if want := fmt.Sprint(f.calls); *iter != want {
		return Page[int]{}, fmt.Errorf("iterator %q, want %q", *iter, want)
	}
	f.calls++
	next := fmt.Sprint(f.calls)
	if f.calls > len(f.pages) {
		return Page[int]{NextIterator: &next}, nil
	}
	p := f.pages[f.calls-1]
	p.NextIterator = &next
	if f.closed && f.calls == len(f.pages) {
		p.NextIterator = nil
	}
	return p, nil
}

func TestDrain(t *testing.T) {
	first := "0"
	for _, c := range []struct {
		name   string
		pages  []Page[int]
		closed bool
		want   []int
		calls  int
	}{
		{"open, empty", nil, false, nil, 1},
		{"open, ends at the first empty page at the tip",
			[]Page[int]{{Records: []int{1, 2}}, {Records: []int{3}}, {}, {Records: []int{4}}}, false, []int{1, 2, 3}, 3},
		{"open, an empty page behind the tip does not end it",
			[]Page[int]{{Records: []int{1}}, {MillisBehindLatest: 5}, {Records: []int{2}}}, false, []int{1, 2}, 4},
		{"closed, reads to the end past empty pages",
			[]Page[int]{{Records: []int{1}}, {}, {}, {Records: []int{2, 3}}, {}}, true, []int{1, 2, 3}, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeShard{pages: c.pages, closed: c.closed}
			got, err := Drain("s/shard", &first, c.closed, f.getRecords)
			if err != nil || !reflect.DeepEqual(got, c.want) || f.calls != c.calls {
				t.Errorf("Drain = %v, %v after %d calls; want %v after %d", got, err, f.calls, c.want, c.calls)
			}
		})
	}

	// No iterator: nothing to read.
	if got, err := Drain("s/shard", nil, true, (&fakeShard{}).getRecords); got != nil || err != nil {
		t.Errorf("Drain from a nil iterator = %v, %v", got, err)
	}
}

func TestDrainGivesUp(t *testing.T) {
	first := "0"
	// A closed shard that never ends: MaxEmpty empty pages in a row.
	f := &fakeShard{pages: []Page[int]{{Records: []int{1}}}, closed: false}
	_, err := Drain("s/shard", &first, true, f.getRecords)
	if err == nil || f.calls != 1+MaxEmpty || !strings.Contains(err.Error(), fmt.Sprintf("reading s/shard did not finish after %d GetRecords calls (1 records so far)", 1+MaxEmpty)) {
		t.Errorf("Drain of an endless empty shard: %v after %d calls", err, f.calls)
	}

	// Records that never stop: MaxCalls calls.
	calls := 0
	_, err = Drain("s/shard", &first, false, func(iter *string) (Page[int], error) {
		calls++
		return Page[int]{Records: []int{calls}, NextIterator: iter}, nil
	})
	if err == nil || calls != MaxCalls || !strings.Contains(err.Error(), fmt.Sprintf("did not finish after %d GetRecords calls (%d records so far)", MaxCalls, MaxCalls)) {
		t.Errorf("Drain of an endless shard: %v after %d calls", err, calls)
	}

	// A failed call ends the read with its error.
	errFailed := errors.New("throttled")
	_, err = Drain("s/shard", &first, false, func(*string) (Page[int], error) { return Page[int]{}, errFailed })
	if !errors.Is(err, errFailed) || !strings.Contains(err.Error(), "get records from s/shard: throttled") {
		t.Errorf("Drain with a failing call: %v", err)
	}
}
