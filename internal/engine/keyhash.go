package engine

// keyLaneMax is the longest partition key the key lanes hash: one MD5
// block holds 55 bytes of message besides its padding. Longer keys are
// hashed one by one.
const keyLaneMax = 55

// keyLanes is how many partition keys the key lanes hash at once.
const keyLanes = 16

// hashRecords works out the routing hash of every record in rs that still
// needs one: a record from Put in shard-map mode, whose partition key's MD5
// Put left to the drain goroutine (a zero hash without an explicit hash
// key). Where the CPU has them, it hashes keys in SIMD lanes, 16 at a time,
// which costs a fraction of hashing them one by one on the callers'
// goroutines.
func hashRecords(rs []record) {
	var batch [keyLanes]*record
	n := 0
	for i := range rs {
		r := &rs[i]
		if r.marker != nil || r.hasEHK || r.hash != (hash128{}) {
			continue
		}
		if !haveKeyLanes || len(r.key) > keyLaneMax {
			r.hash = hashKey(r.key)
			continue
		}
		batch[n] = r
		if n++; n == keyLanes {
			hashBatch(&batch, n)
			n = 0
		}
	}
	switch n {
	case 0:
	case 1:
		batch[0].hash = hashKey(batch[0].key)
	default:
		hashBatch(&batch, n)
	}
}
