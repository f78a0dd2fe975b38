package producer

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// indexTable finds the index of a partition key (or explicit hash key) in an
// aggregate's table, to store each distinct key once. It is an open-addressing
// table of 64-bit hashes, reused from one aggregate to the next: much cheaper
// than a Go map on the drain goroutine's hot path. slots hold index+1 (0 is
// empty) and sums the hash of the slot's key.
type indexTable struct {
	slots []uint32
	sums  []uint64
	n     int
}

const minTableSlots = 64

// slot returns the slot for hash h: found is set when the slot holds an
// index whose key equal says is the one looked up; otherwise the slot is the
// empty one where it belongs.
func (t *indexTable) slot(h uint64, equal func(idx uint32) bool) (slot int, idx uint32, found bool) {
	if t.slots == nil {
		t.slots = make([]uint32, minTableSlots)
		t.sums = make([]uint64, minTableSlots)
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return i, 0, false
		}
		if t.sums[i] == h && equal(s-1) {
			return i, s - 1, true
		}
	}
}

// insert puts idx with hash h into the empty slot slot returned by slot.
func (t *indexTable) insert(slot int, h uint64, idx uint32) {
	t.slots[slot] = idx + 1
	t.sums[slot] = h
	t.n++
	if 2*t.n > len(t.slots) {
		t.grow()
	}
}

func (t *indexTable) grow() {
	slots, sums := t.slots, t.sums
	t.slots = make([]uint32, 2*len(slots))
	t.sums = make([]uint64, 2*len(slots))
	mask := len(t.slots) - 1
	for i, s := range slots {
		if s == 0 {
			continue
		}
		j := int(sums[i]) & mask
		for t.slots[j] != 0 {
			j = (j + 1) & mask
		}
		t.slots[j], t.sums[j] = s, sums[i]
	}
}

// reset empties the table, keeping its memory.
func (t *indexTable) reset() {
	if t.n > 0 {
		clear(t.slots)
		t.n = 0
	}
}

// mix64 folds the 128-bit product of h and an odd constant.
func mix64(h uint64) uint64 {
	hi, lo := bits.Mul64(h, 0x9E3779B97F4A7C15)
	return hi ^ lo
}

// hashString is a fast, seeded 64-bit hash of s for indexTable. The seed is
// random per producer, so that keys chosen to collide cannot be prepared in
// advance.
func hashString(s string, seed uint64) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	h := seed ^ uint64(len(b))*0xC2B2AE3D27D4EB4F
	for len(b) >= 8 {
		h = mix64(h ^ binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	return mix64(h ^ tail ^ 0x165667B19E3779F9)
}

// hashOf is the indexTable hash of an explicit hash key.
func (a hash128) hashOf(seed uint64) uint64 {
	return mix64(a.hi ^ mix64(a.lo^seed))
}
