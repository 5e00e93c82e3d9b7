package fairway

import (
	"context"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StoreHealth is what a store tells an operator beyond the service: that
// it is ready to serve, and how its writes and connections fare. Stores
// implement it; `fairway serve` reports it on /readyz and /metrics.
type StoreHealth interface {
	// Ready checks that the database answers and that its migrations are
	// exactly the ones this build knows.
	Ready(ctx context.Context) error
	// Stats returns the store's figures since it opened.
	Stats() StoreStats
}

// StoreStats are a store's figures since it opened.
type StoreStats struct {
	// BatchWrites counts the writes of each committed batch (group
	// commit); CommitSeconds times each batch from its start to its
	// commit.
	BatchWrites   Histogram
	CommitSeconds Histogram
	// Retries counts batches run again after failing to serialize with
	// another replica's writes.
	Retries int64
	// Pool describes the database connection pool; nil for a store
	// without one.
	Pool *PoolStats
}

// PoolStats describe a database connection pool at one moment.
type PoolStats struct {
	Max, Total, Idle, Acquired int32
	// Acquires counts connections handed out; Waited those that had to
	// wait for one, for WaitSeconds in all.
	Acquires, Waited int64
	WaitSeconds      float64
}

// Histogram counts observations at or below each bound (cumulative, as
// Prometheus has them), with their count and sum.
type Histogram struct {
	Bounds []float64
	Counts []int64
	Count  int64
	Sum    float64
}

func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]int64, len(bounds))}
}

func (h *Histogram) observe(v float64) {
	for i, le := range h.Bounds {
		if v <= le {
			h.Counts[i]++
		}
	}
	h.Count++
	h.Sum += v
}

func (h Histogram) clone() Histogram {
	h.Counts = append([]int64(nil), h.Counts...)
	return h
}

// BatchBounds and CommitBounds are the buckets of a store's histograms.
var (
	BatchBounds  = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
	CommitBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// WriteRecorder collects a store's write figures; safe for concurrent
// use. The zero value is ready.
type WriteRecorder struct {
	mu      sync.Mutex
	init    bool
	batch   Histogram
	commit  Histogram
	retries int64
}

func (r *WriteRecorder) lock() {
	r.mu.Lock()
	if !r.init {
		r.init = true
		r.batch, r.commit = newHistogram(BatchBounds), newHistogram(CommitBounds)
	}
}

// Committed records a batch of writes committed after took.
func (r *WriteRecorder) Committed(writes int, took time.Duration) {
	r.lock()
	defer r.mu.Unlock()
	r.batch.observe(float64(writes))
	r.commit.observe(took.Seconds())
}

// Retried records a batch run again.
func (r *WriteRecorder) Retried() {
	r.lock()
	defer r.mu.Unlock()
	r.retries++
}

// Stats copies the figures so far.
func (r *WriteRecorder) Stats() StoreStats {
	r.lock()
	defer r.mu.Unlock()
	return StoreStats{BatchWrites: r.batch.clone(), CommitSeconds: r.commit.clone(), Retries: r.retries}
}

// LatestMigration is the number of the newest migration file matching
// pattern in fsys (files are named NNNN_what.sql).
func LatestMigration(fsys fs.FS, pattern string) int {
	names, _ := fs.Glob(fsys, pattern)
	latest := 0
	for _, name := range names {
		if v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0]); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

// SchemaCurrent is a store's readiness answer once its database answered
// with the newest migration applied: nil when that is this build's.
func SchemaCurrent(version, want int) error {
	if version != want {
		return Errorf(EINTERNAL, "the database schema is at migration %d, this build's is %d: migrations are not current", version, want)
	}
	return nil
}
