//go:build !amd64 || noasm

package engine

// newLaneHasher returns nil: SIMD lanes exist on amd64 only (and not under
// the noasm build tag), and every aggregate is hashed with crypto/md5.
func newLaneHasher() laneHasher { return nil }
