package ledger

import (
	"context"

	"fairway"
)

// Search finds tasks, claims, handoffs and evidence by their words, best
// first. Anyone who may read the ledger may search it.
func (l *Ledger) Search(ctx context.Context, q fairway.SearchQuery) ([]*fairway.SearchHit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	var out []*fairway.SearchHit
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.Search(q)
		return err
	})
	return out, err
}
