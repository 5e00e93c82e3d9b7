package portal

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"fairway"
)

// liveKeepAlive is how long an idle live stream waits before sending a
// comment, so proxies keep it open.
const liveKeepAlive = 15 * time.Second

// live streams, as server-sent events, that something a page shows has
// changed: every audit event after the stream opens (the ledger's Watch,
// as /api/v1/events streams it), or with ?subject=KEY only the events
// about that task. The page's script then fetches itself again. The
// stream says which event changed and nothing of its content: the page
// is read again under the reader's own session.
func (p *Portal) live(w http.ResponseWriter, r *http.Request, c *caller) {
	subject := r.URL.Query().Get("subject")
	if subject != "" {
		if err := fairway.ValidateKey("subject", subject); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "this connection cannot stream", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	head, err := p.svc.AuditTree(ctx)
	if err != nil {
		http.Error(w, "the ledger could not be read", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 3000\n: fairway live changes after %d\n\n", head.Size)
	flusher.Flush()

	// Each event's check is made at the head its batch was read at: one
	// read of the head per batch, not per event.
	batch := fairway.NewContextWithWatchHead(ctx, &fairway.WatchHead{})
	events := make(chan int64)
	go func() {
		defer close(events)
		p.svc.Watch(batch, fairway.AuditFilter{AfterSeq: head.Size}, func(e *fairway.AuditEvent) error {
			if subject != "" && !about(e, subject) {
				return nil
			}
			select {
			case events <- e.Seq:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// The session is asked again before every event and keep-alive: a
	// sign-out, a revocation or the sign-in's expiry ends the stream.
	signedIn := func(ctx context.Context) bool {
		_, _, err := p.auth.Authenticate(ctx, c.token)
		return err == nil
	}
	idle := time.NewTimer(liveKeepAlive)
	defer idle.Stop()
	for {
		select {
		case seq, ok := <-events:
			if !ok || !signedIn(batch) {
				return
			}
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %d\n\n", seq, seq)
			flusher.Flush()
			idle.Reset(liveKeepAlive)
		case <-idle.C:
			if !signedIn(ctx) {
				return
			}
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
			idle.Reset(liveKeepAlive)
		}
	}
}

// about reports whether an event changes what a task's page shows: the
// task itself, or a record of it (a session, a deploy-run, a waiver)
// whose change names the task.
func about(e *fairway.AuditEvent, key string) bool {
	return e.Subject == key || strings.Contains(string(e.Change), `"`+key+`"`)
}
