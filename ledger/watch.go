package ledger

import (
	"context"
	"sync"
	"time"

	"fairway"
)

// DefaultWatchPoll is how often Watch looks for events written by other
// processes on the same store (the CLI in local mode, other replicas).
// Events this ledger writes are delivered at once.
const DefaultWatchPoll = 500 * time.Millisecond

// changes wakes watchers when this ledger commits a write.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next commit.
func (c *changes) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// notify wakes every watcher.
func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// listen wakes watchers when another process commits to the store, for a
// store that can say so (fairway.ChangeNotifier); it starts once, with
// the first watcher, and runs while the store can listen.
func (l *Ledger) listen() {
	l.listenOnce.Do(func() {
		n, ok := l.store.(fairway.ChangeNotifier)
		if !ok {
			return
		}
		ch, err := n.Changes(context.Background())
		if err != nil {
			return // polling still finds other processes' events
		}
		go func() {
			for range ch {
				l.changes.notify()
			}
		}()
	})
}

// Watch calls fn with every audit event after f.AfterSeq, in order, as
// they are appended, until ctx ends or fn fails. It is the one way the
// log is followed: the HTTP event stream and `audit log --follow` both
// use it. When ctx carries a fairway.WatchHead, each batch's head, read
// with its events, is recorded there before the batch is delivered.
func (l *Ledger) Watch(ctx context.Context, f fairway.AuditFilter, fn func(*fairway.AuditEvent) error) error {
	const page = 500
	f.Limit = page
	poll := l.WatchPoll
	if poll <= 0 {
		poll = DefaultWatchPoll
	}
	l.listen()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		woken := l.changes.wait() // before the read, so no commit is missed
		events, err := l.watchBatch(ctx, f)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
			f.AfterSeq = e.Seq
		}
		if len(events) == page {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-woken:
		case <-tick.C:
		}
	}
}

// watchBatch reads Watch's next batch of events and, for a stream that
// keeps a fairway.WatchHead, the head in the same snapshot, which it
// records there: one read of the head for the whole batch.
func (l *Ledger) watchBatch(ctx context.Context, f fairway.AuditFilter) ([]*fairway.AuditEvent, error) {
	pin := fairway.WatchHeadFromContext(ctx)
	if pin == nil {
		return l.AuditLog(ctx, f)
	}
	var events []*fairway.AuditEvent
	var head fairway.AuditHead
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		if events, err = tx.AuditEvents(f); err != nil || len(events) == 0 {
			return err
		}
		head, err = tx.AuditHead()
		return err
	})
	if err == nil && len(events) > 0 {
		pin.Set(head.Seq, head.Hash)
	}
	return events, err
}
