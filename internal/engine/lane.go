package engine

// lane is the unit of order of OrderPerKey: one shard of one shard map. A
// lane sends only while nothing holds it: neither a Kinesis record of its
// own that is not resolved yet (in the batch, in a call, or stored on an
// unexpected shard and waiting for a listing), nor a lane of an earlier map
// that had some of its keys (a parent, or the same shard before a refresh)
// and whose last record is not resolved. A record is resolved once it is
// acknowledged, failed for good or queued again ahead of everything newer
// of its keys. The drain goroutine owns every lane.
type lane struct {
	held  int     // unresolved records and unfinished predecessors
	heirs []*lane // lanes of later maps that wait for this one
}

// busy reports whether l may not send.
func (l *lane) busy() bool { return l != nil && l.held > 0 }

// hold counts one more unresolved record or predecessor.
func (l *lane) hold() { l.held++ }

// release resolves one of what holds l. Once nothing does, the lanes that
// wait for l count it as finished. Nil is a no-op, for records sent
// without OrderPerKey.
func (l *lane) release() {
	if l == nil {
		return
	}
	l.held--
	if l.held > 0 {
		return
	}
	heirs := l.heirs
	l.heirs = nil
	for _, h := range heirs {
		h.release()
	}
}

// inherit makes heir wait for l when l is busy: heir takes over keys that
// l had.
func (l *lane) inherit(heir *lane) {
	if l.busy() {
		l.heirs = append(l.heirs, heir)
		heir.hold()
	}
}
