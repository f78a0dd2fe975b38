package engine

// Ranges is a shard map for the doors' standalone ShardMap: the shards
// sorted by hash range, and the 128-bit lookup of the producer.
type Ranges struct {
	m *shardMap
}

// NewRanges builds the map of shards; their ranges must not overlap.
func NewRanges(shards []Shard) (*Ranges, error) {
	m, err := newShardMap(shards, 0)
	if err != nil {
		return nil, err
	}
	return &Ranges{m}, nil
}

// Len returns the number of shards.
func (r *Ranges) Len() int { return len(r.m.ids) }

// Find returns the index (in hash order) of the shard that owns u: by its
// explicit hash key when it has one, else by the MD5 of its partition key.
// It returns -1 when the hash falls outside every shard, and an error
// wrapping ErrIllegalExplicitHashKey for an explicit hash key outside
// 0..2^128-1.
func (r *Ranges) Find(u UserRecord) (int, error) {
	rec, err := userRecordOf(u)
	if err != nil {
		return -1, err
	}
	if rec.keyHashPending() {
		rec.hash = hashKey(rec.key)
	}
	return r.m.find(rec.hash), nil
}

// StartingHashKey returns the decimal starting hash key of shard i (in hash
// order), the explicit hash key of the aggregates of that shard.
func (r *Ranges) StartingHashKey(i int) string { return r.m.startKeys[i] }
