package engine

// The measurements every metrics adapter exposes, in one list: the
// Prometheus and OpenTelemetry adapters build their instruments from it, and
// the README's metric table is checked against it.

// Measurement kinds.
const (
	Counter   = "counter"
	Histogram = "histogram"
	Gauge     = "gauge" // read from the producer when scraped
)

// Measurement describes one measurement.
type Measurement struct {
	Key         string // the adapters' key for it
	Prometheus  string // Prometheus name, after the adapter's namespace and "_"
	OTel        string // OpenTelemetry instrument name
	Kind        string
	Unit        string // UCUM, as OpenTelemetry writes it
	Labels      string // labels besides the stream, as the README lists them
	Shard       bool   // labelled by shard when the adapter is asked to
	Description string
	KPL         string // the KPL metric it corresponds to, or ""
}

// Keys of the measurements.
const (
	MUserRecordsSent     = "user_records_sent"
	MKinesisRecordsPut   = "kinesis_records_put"
	MBytesPut            = "bytes_put"
	MPutErrors           = "put_errors"
	MRetries             = "retries"
	MRateLimited         = "rate_limited"
	MBuffering           = "buffering"
	MUserRecordsPerKR    = "user_records_per_kinesis_record"
	MAttempts            = "attempts"
	MRequestDuration     = "request_duration"
	MCallsInFlight       = "calls_in_flight"
	MOutstanding         = "outstanding"
	MQueuedRecords       = "queued_records"
	MQueuedBytes         = "queued_bytes"
	MHeldBack            = "held_back"
	MShardRateLimitRecs  = "shard_rate_limit_records"
	MShardRateLimitBytes = "shard_rate_limit_bytes"
	MShardRateReason     = "shard_rate_limit_reason"
	MShardRateAge        = "shard_rate_limit_age"
)

// Measurements lists every measurement, in the README's order.
var Measurements = []Measurement{
	{MUserRecordsSent, "user_records_total", "messaging.client.sent.messages", Counter, "{message}", "outcome (prometheus) / error.type (otel): acknowledged, or the failure reason", false,
		"User records settled: acknowledged by Kinesis, or failed for good with a reason.", "UserRecordsPut (outcome acknowledged)"},
	{MKinesisRecordsPut, "kinesis_records_put_total", "kinesis.producer.kinesis_records.put", Counter, "{record}", "shard", true,
		"Kinesis records (aggregated or plain) Kinesis acknowledged.", "KinesisRecordsPut"},
	{MBytesPut, "kinesis_bytes_put_total", "kinesis.producer.kinesis_records.size", Counter, "By", "shard", true,
		"Data bytes of the Kinesis records Kinesis acknowledged.", "KinesisRecordsDataPut"},
	{MPutErrors, "put_errors_total", "kinesis.producer.put.errors", Counter, "{record}", "code (prometheus) / error.type (otel), shard", true,
		"Failed attempts of Kinesis records, by error code (ProvisionedThroughputExceededException is throttling; ClientError is a call without an answer).", "ErrorsByCode (AllErrors summed)"},
	{MRetries, "retries_total", "kinesis.producer.retries", Counter, "{record}", "shard", true,
		"Kinesis records sent again after a failed attempt.", "RetriesPerRecord (summed)"},
	{MRateLimited, "rate_limited_total", "kinesis.producer.rate_limited", Counter, "{refusal}", "shard", true,
		"Times a shard's rate limit held back its next Kinesis record (again at each look while it waits).", ""},
	{MBuffering, "buffering_seconds", "kinesis.producer.buffering.duration", Histogram, "s", "shard", true,
		"Time from a Kinesis record's first user record to its first send.", "BufferingTime"},
	{MUserRecordsPerKR, "user_records_per_kinesis_record", "kinesis.producer.kinesis_record.user_records", Histogram, "{message}", "", false,
		"User records in one Kinesis record, at its first send.", "User Records per Kinesis Record"},
	{MAttempts, "kinesis_record_attempts", "kinesis.producer.kinesis_record.attempts", Histogram, "{attempt}", "", false,
		"PutRecords attempts an acknowledged Kinesis record took.", "RetriesPerRecord (plus one)"},
	{MRequestDuration, "put_records_seconds", "messaging.client.operation.duration", Histogram, "s", "", false,
		"Duration of PutRecords calls.", "Request Time"},
	{MCallsInFlight, "put_records_in_flight", "kinesis.producer.calls.in_flight", Gauge, "{call}", "", false,
		"PutRecords calls under way.", ""},
	{MOutstanding, "outstanding_user_records", "kinesis.producer.user_records.outstanding", Gauge, "{message}", "", false,
		"User records accepted by Put and not yet acknowledged or failed.", "UserRecordsPending"},
	{MQueuedRecords, "queued_kinesis_records", "kinesis.producer.kinesis_records.queued", Gauge, "{record}", "shard", true,
		"Kinesis records closed and waiting in the shards' queues.", ""},
	{MQueuedBytes, "queued_bytes", "kinesis.producer.kinesis_records.queued.size", Gauge, "By", "shard", true,
		"Bytes of the Kinesis records waiting in the shards' queues.", ""},
	{MHeldBack, "held_back_kinesis_records", "kinesis.producer.kinesis_records.held_back", Gauge, "{record}", "shard", true,
		"Kinesis records waiting in the queues of shards whose rate limit holds them back now.", ""},
	{MShardRateLimitRecs, "shard_rate_limit_records_per_second", "kinesis.producer.shard.rate_limit.records", Gauge, "{record}/s", "shard (always)", false,
		"A shard's current rate limit in Kinesis records a second (it adapts to throttling under Config.RateLimit).", ""},
	{MShardRateLimitBytes, "shard_rate_limit_bytes_per_second", "kinesis.producer.shard.rate_limit.size", Gauge, "By/s", "shard (always)", false,
		"A shard's current rate limit in bytes a second.", ""},
	{MShardRateReason, "shard_rate_limit_reason", "kinesis.producer.shard.rate_limit.reason", Gauge, "{reason}", "shard (always)", false,
		"Why a shard's rate limit last changed: 0 initial (a shard's capacity, or RateLimit when lower), 1 throttled (cut), 2 probe (raised).", ""},
	{MShardRateAge, "shard_rate_limit_age_seconds", "kinesis.producer.shard.rate_limit.age", Gauge, "s", "shard (always)", false,
		"Seconds since a shard's rate limit last changed.", ""},
}
