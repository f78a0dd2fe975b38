package engine

// Stats is a snapshot of a producer's running totals.
type Stats struct {
	// UserRecordsPut is the number of user records Kinesis acknowledged.
	UserRecordsPut int64
	// UserRecordsFailed is the number of user records reported as failures.
	UserRecordsFailed int64
	// KinesisRecordsPut is the number of Kinesis records (aggregated or
	// plain) Kinesis acknowledged.
	KinesisRecordsPut int64
	// BytesPut is the data bytes of the acknowledged Kinesis records.
	BytesPut int64
	// Retries is the number of times a Kinesis record was sent again.
	Retries int64
	// Requests is the number of PutRecords calls made.
	Requests int64
	// InFlight is the number of PutRecords calls (with their retries) under
	// way now.
	InFlight int
	// Outstanding is the number of user records accepted by Put and not yet
	// acknowledged or failed.
	Outstanding int64
	// WrongShard is the number of Kinesis records Kinesis stored on another
	// shard than the shard map predicted.
	WrongShard int64
	// ShardMapUpdates is the number of times a new shard map replaced the
	// one Start listed (which is not counted).
	ShardMapUpdates int64
	// RateLimited is the number of times a shard's rate limit held a
	// Kinesis record back (a record that waits long is counted at each
	// look, about every 10 ms).
	RateLimited int64
	// Throttled is the number of Kinesis records Kinesis answered with
	// ProvisionedThroughputExceededException (each was tried again, unless
	// FailIfThrottled is set).
	Throttled int64
	// Resent is the number of user records sent again because Kinesis
	// stored their aggregate on a shard that does not hold all of them,
	// where a KCL consumer would drop it.
	Resent int64
}

// Stats returns a snapshot of the producer's totals.
func (p *Producer) Stats() Stats {
	if p.cfgErr != nil {
		return Stats{}
	}
	s := &p.report.stats
	st := Stats{
		UserRecordsPut:    s.userRecordsPut.Load(),
		UserRecordsFailed: s.userRecordsFailed.Load(),
		KinesisRecordsPut: s.kinesisRecordsPut.Load(),
		BytesPut:          s.bytesPut.Load(),
		Retries:           s.retries.Load(),
		Requests:          s.requests.Load(),
		InFlight:          p.send.inFlight(),
		WrongShard:        s.wrongShard.Load(),
		ShardMapUpdates:   s.mapUpdates.Load(),
		RateLimited:       s.rateLimited.Load(),
		Throttled:         s.throttled.Load(),
		Resent:            s.resent.Load(),
	}
	st.Outstanding = max(0, int64(p.backlog.len())+s.received.Load()-st.UserRecordsPut-st.UserRecordsFailed)
	return st
}

// Outstanding returns the number of user records accepted by Put and not yet
// acknowledged or failed, for back-pressure.
func (p *Producer) Outstanding() int64 {
	return p.Stats().Outstanding
}
