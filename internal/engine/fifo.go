package engine

// fifo is a queue of Kinesis records.
type fifo struct {
	items []*aggregate
	first int
}

func (q *fifo) len() int { return len(q.items) - q.first }

func (q *fifo) push(a *aggregate) {
	if q.first > 0 && len(q.items) == cap(q.items) {
		// Slide down rather than grow.
		n := copy(q.items, q.items[q.first:])
		clear(q.items[n:])
		q.items, q.first = q.items[:n], 0
	}
	q.items = append(q.items, a)
}

func (q *fifo) peek() *aggregate {
	if q.first == len(q.items) {
		return nil
	}
	return q.items[q.first]
}

func (q *fifo) pop() *aggregate {
	a := q.items[q.first]
	q.items[q.first] = nil
	q.first++
	if q.first == len(q.items) {
		q.items, q.first = q.items[:0], 0
	}
	return a
}

// drain removes and returns every record, in order.
func (q *fifo) drain() []*aggregate {
	out := append([]*aggregate(nil), q.items[q.first:]...)
	clear(q.items)
	q.items, q.first = q.items[:0], 0
	return out
}
