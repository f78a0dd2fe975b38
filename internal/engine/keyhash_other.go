//go:build !amd64 || noasm

package engine

// haveKeyLanes is false here: keys are hashed one by one with crypto/md5.
const haveKeyLanes = false

// hashBatch is never called where haveKeyLanes is false.
func hashBatch(batch *[keyLanes]*record, n int) {
	for _, r := range batch[:n] {
		r.hash = hashKey(r.key)
	}
}
