package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// auditChannel is the NOTIFY channel every commit that grows an audit log
// signals on; the payload names the schema, so stores sharing a database
// hear only their own.
const auditChannel = "fairway_audit"

// Changes returns a channel that receives after any process commits audit
// events to this store, until ctx ends or the connection is lost (the
// channel is then closed). It holds one connection of its own, outside
// the pool, for LISTEN.
func (s *Store) Changes(ctx context.Context) (<-chan struct{}, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.listening, cancel) // the store closing ends it too
	conn, err := pgx.ConnectConfig(ctx, s.connConfig.Copy())
	if err != nil {
		stop()
		cancel()
		return nil, fmt.Errorf("listen for changes: %w", err)
	}
	fail := func(err error) (<-chan struct{}, error) {
		conn.Close(context.Background())
		stop()
		cancel()
		return nil, err
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fail(err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+auditChannel); err != nil {
		return fail(err)
	}
	out := make(chan struct{}, 1)
	s.listeners.Add(1)
	go func() {
		defer s.listeners.Done()
		defer close(out)
		defer cancel()
		defer stop()
		defer conn.Close(context.Background())
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			if n.Payload != schema {
				continue
			}
			select {
			case out <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
	}()
	return out, nil
}
