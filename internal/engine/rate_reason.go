package engine

// RateReason says why a shard's rate limit last changed.
type RateReason uint8

// The reasons a shard's rate limit changes.
const (
	// RateInitial is the rate a shard starts at: a shard's capacity, or
	// the ceiling (Config.RateLimit) when that is lower.
	RateInitial RateReason = iota
	// RateThrottled is a cut: Kinesis throttled more of a window of the
	// shard's records than chance explains.
	RateThrottled
	// RateProbe is a raise: records waited for the limit and the shard took
	// what it was sent.
	RateProbe
)

// String returns the reason's name as Stats and the metrics show it.
func (r RateReason) String() string {
	switch r {
	case RateInitial:
		return "initial"
	case RateThrottled:
		return "throttled"
	case RateProbe:
		return "probe"
	}
	return "unknown"
}
