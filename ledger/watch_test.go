package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// headCountingStore counts the reads of the audit head an identity check
// makes (fairway.HeadKeyReader).
type headCountingStore struct {
	*sqlite.Store
	headReads atomic.Int64
}

func (s *headCountingStore) AuditHeadKey(ctx context.Context) (int64, string, error) {
	s.headReads.Add(1)
	return s.Store.AuditHeadKey(ctx)
}

func openCountingLedger(t *testing.T) (*ledger.Ledger, *headCountingStore, *time.Time) {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	counting := &headCountingStore{Store: s}
	l := ledger.New(counting, blobs)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	return l, counting, &now
}

// streamAs follows the log from after as an event stream does: the
// token is authenticated again before each event is delivered, at the
// head of the batch the event came in (fairway.WatchHead). at, when not
// nil, is called after event n is delivered. It returns the events
// delivered and the error that ended the stream.
func streamAs(l *ledger.Ledger, token string, after int64, want int, at func(n int)) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = fairway.NewContextWithWatchHead(ctx, &fairway.WatchHead{})
	n := 0
	err := l.Watch(ctx, fairway.AuditFilter{AfterSeq: after}, func(e *fairway.AuditEvent) error {
		if _, _, err := (ledger.TokenAuth{L: l}).Authenticate(ctx, token); err != nil {
			return err
		}
		n++
		if at != nil {
			at(n)
		}
		if n == want {
			cancel()
		}
		return nil
	})
	return n, err
}

// An event stream authenticates its token before every event, but reads
// the audit head once per batch of events, not once per event.
func TestWatch_AStreamReadsTheHeadOncePerBatchAndChecksItsTokenPerEvent(t *testing.T) {
	l, counting, _ := openCountingLedger(t)
	setUp(t, l, false)
	token := must(l.RotateToken(as("alice"), "codex", 0)).Token
	start := must(l.AuditTree(context.Background())).Size
	for i := range 200 {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: fmt.Sprintf("OPS-FIX-%03d", 100+i), Title: "streamed"}))
	}
	before := counting.headReads.Load()
	n, err := streamAs(l, token, start, 200, nil)
	if err != nil || n != 200 {
		t.Fatalf("streamed %d events (%v), want 200", n, err)
	}
	if reads := counting.headReads.Load() - before; reads != 0 {
		t.Fatalf("the stream read the audit head %d times for 200 events in one batch, want 0 beyond the batch's own read", reads)
	}
}

// Within a batch a revocation this ledger wrote stops the very next
// event, and so does the token's expiry: the batch's head is not a pass.
func TestWatch_ARevocationOrExpiryStopsAStreamMidBatch(t *testing.T) {
	l, _, now := openCountingLedger(t)
	setUp(t, l, false)
	start := must(l.AuditTree(context.Background())).Size
	for i := range 100 {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: fmt.Sprintf("OPS-FIX-%03d", 100+i), Title: "streamed"}))
	}
	token := must(l.RotateToken(as("alice"), "codex", 0)).Token
	n, err := streamAs(l, token, start, 100, func(n int) {
		if n == 40 {
			must(l.RevokeToken(as("alice"), tokenIDOf(token)))
		}
	})
	if n != 40 || fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("revoked after event 40: delivered %d (%v), want 40 and unauthorized", n, err)
	}

	expiring := must(l.RotateToken(as("alice"), "codex", time.Hour)).Token
	n, err = streamAs(l, expiring, start, 100, func(n int) {
		if n == 60 {
			*now = now.Add(time.Hour)
		}
	})
	if n != 60 || fairway.ErrorCode(err) != fairway.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired after event 60: delivered %d (%v), want 60 and expired", n, err)
	}
}
