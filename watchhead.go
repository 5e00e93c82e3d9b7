package fairway

import (
	"context"
	"sync"
)

// WatchHead is the audit head at which a Watch read the batch of events
// it is delivering. An event stream that authenticates its caller again
// before every event passes it in the context of both the Watch and
// those checks: the ledger then judges each event's credential at that
// head, read once per batch, instead of reading the store's head once
// per event. A credential's expiry is still judged by the clock, and a
// revocation this process wrote still stops the very next event.
type WatchHead struct {
	mu   sync.Mutex
	seq  int64
	hash string
	set  bool
}

// Set records the head a batch was read at.
func (h *WatchHead) Set(seq int64, hash string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq, h.hash, h.set = seq, hash, true
}

// Get returns the head of the latest batch; ok is false before the
// first.
func (h *WatchHead) Get() (seq int64, hash string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq, h.hash, h.set
}

type watchHeadKey struct{}

// NewContextWithWatchHead returns a context carrying h.
func NewContextWithWatchHead(ctx context.Context, h *WatchHead) context.Context {
	return context.WithValue(ctx, watchHeadKey{}, h)
}

// WatchHeadFromContext returns the WatchHead ctx carries, or nil.
func WatchHeadFromContext(ctx context.Context) *WatchHead {
	h, _ := ctx.Value(watchHeadKey{}).(*WatchHead)
	return h
}
