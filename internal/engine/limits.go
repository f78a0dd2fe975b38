package engine

// limits are the bounds an aggregate must stay within.
type limits struct {
	count     int    // AggregateBatchCount
	size      int    // AggregateBatchSize: bytes of aggregated data
	recordMax int    // MaxRecordSize: data plus partition key of one Kinesis record
	seed      uint64 // of the key tables' hashes
}
