package engine

// outcome is what one PutRecords call said of one Kinesis record.
type outcome struct {
	shardID, sequence string // where Kinesis stored it, on success
	err               error  // nil on success: the entry's error or the call's
	code              string // err's API error code, or ""
	final             bool   // err is one no retry can cure
	unknown           bool   // the call failed with no answer or a 5xx one: Kinesis may have stored it
}

// throttled reports whether the outcome says Kinesis throttled the write.
func (o *outcome) throttled() bool { return o.code == throttleCode }
