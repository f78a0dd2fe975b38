package engine

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// indexTable finds the index of a partition key (or explicit hash key) in an
// aggregate's table, to store each distinct key once. It is an open-addressing
// table keyed by 64-bit hashes, reused from one aggregate to the next: much cheaper
// than a Go map on the drain goroutine's hot path. A slot holds the high 32
// bits of a key's hash and its index+1 (0 is empty) in 8 bytes, so that a
// probe reads one cache line and the tables of many shards stay in cache;
// equal settles the collisions of 32 bits.
type indexTable struct {
	slots []tableSlot
	n     int
}

type tableSlot struct {
	sum uint32 // high half of the hash, which also picks the slot
	idx uint32 // index+1; 0 for an empty slot
}

const minTableSlots = 16

// slot returns the slot for hash h: found is set when the slot holds an
// index whose key equal says is the one looked up; otherwise the slot is the
// empty one where it belongs.
func (t *indexTable) slot(h uint64, equal func(idx uint32) bool) (slot int, idx uint32, found bool) {
	if t.slots == nil {
		t.slots = make([]tableSlot, minTableSlots)
	}
	mask := len(t.slots) - 1
	top := uint32(h >> 32)
	for i := int(top) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.idx == 0 {
			return i, 0, false
		}
		if s.sum == top && equal(s.idx-1) {
			return i, s.idx - 1, true
		}
	}
}

// insert puts idx with hash h into the empty slot slot returned by slot.
func (t *indexTable) insert(slot int, h uint64, idx uint32) {
	t.slots[slot] = tableSlot{sum: uint32(h >> 32), idx: idx + 1}
	t.n++
	if 2*t.n > len(t.slots) {
		t.grow()
	}
}

func (t *indexTable) grow() {
	old := t.slots
	t.slots = make([]tableSlot, 2*len(old))
	mask := len(t.slots) - 1
	for _, s := range old {
		if s.idx == 0 {
			continue
		}
		j := int(s.sum) & mask
		for t.slots[j].idx != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = s
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

// keyTables find the index of a partition key and of an explicit hash key
// in the tables of the aggregate being filled.
type keyTables struct{ keys, hashes indexTable }

func (t *keyTables) reset() {
	t.keys.reset()
	t.hashes.reset()
}
