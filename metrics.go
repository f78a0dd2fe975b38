package producer

import "github.com/kplgo/producer/internal/engine"

// Metrics receives the producer's counts and timings as they happen (see
// Config.Metrics). Implementations must be safe for concurrent use and
// quick: they are called on the producer's goroutines. Packages
// metrics/prommetrics (Prometheus) and metrics/otelmetrics (OpenTelemetry)
// have ready adapters.
type Metrics = engine.Metrics

// MetricsState is what a Metrics implementation that also has
// Observe(MetricsState) reads when it is scraped: the producer's Stats and
// ShardStats. The producer calls Observe once, when it is built.
type MetricsState = engine.State
