package producer

import "github.com/kplgo/producer/internal/engine"

// Metrics receives the producer's counts and timings as they happen (see
// Config.Metrics). Implementations must be safe for concurrent use and
// quick: they are called on the producer's goroutines. Package
// metrics/prometheus has a ready adapter.
type Metrics = engine.Metrics
