package portal

import (
	"context"
	"sync"
	"time"

	"fairway/policy"
)

// closeoutCache keeps the overview's closeout dependencies for the audit
// event they were computed at. They read every open task's gate, which at
// a hundred thousand tasks costs far more than a page may; so a page
// shows the newest computed rows, says which event they reflect, and
// while the ledger has moved on one computation of the new rows runs in
// the background (the page's live updates then show them).
type closeoutCache struct {
	mu         sync.Mutex
	valid      bool
	seq        int64
	digest     string
	rows       []closeoutRow
	refreshing bool
}

type closeoutResult struct {
	rows  []closeoutRow
	seq   int64
	stale bool
}

// closeoutRefreshLimit bounds one background computation.
const closeoutRefreshLimit = 5 * time.Minute

func (p *Portal) cachedCloseout(ctx context.Context, pol *policy.Policy) (closeoutResult, error) {
	head, err := p.svc.AuditTree(ctx)
	if err != nil {
		return closeoutResult{}, err
	}
	c := &p.closeoutCache
	c.mu.Lock()
	if c.valid && c.digest == pol.Digest {
		res := closeoutResult{rows: c.rows, seq: c.seq, stale: c.seq != head.Size}
		if res.stale && !c.refreshing {
			c.refreshing = true
			// The computation outlives the request that noticed the change,
			// acting as the same reader.
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeoutRefreshLimit)
			go func() {
				defer cancel()
				p.refreshCloseout(bg, pol, head.Size)
			}()
		}
		c.mu.Unlock()
		return res, nil
	}
	c.mu.Unlock()
	rows, err := p.closeout(ctx, pol)
	if err != nil {
		return closeoutResult{}, err
	}
	p.storeCloseout(pol, head.Size, rows)
	return closeoutResult{rows: rows, seq: head.Size}, nil
}

func (p *Portal) refreshCloseout(ctx context.Context, pol *policy.Policy, seq int64) {
	rows, err := p.closeout(ctx, pol)
	c := &p.closeoutCache
	if err != nil {
		c.mu.Lock()
		c.refreshing = false
		c.mu.Unlock()
		p.logger.Error("portal closeout", "err", err)
		return
	}
	p.storeCloseout(pol, seq, rows)
}

func (p *Portal) storeCloseout(pol *policy.Policy, seq int64, rows []closeoutRow) {
	c := &p.closeoutCache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if c.valid && c.digest == pol.Digest && c.seq > seq {
		return // a newer computation finished first
	}
	c.valid, c.seq, c.digest, c.rows = true, seq, pol.Digest, rows
}
