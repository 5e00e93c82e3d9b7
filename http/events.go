package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"fairway"
)

// DefaultEventPoll is Server.EventPoll unless set. The store is polled
// rather than notified so that changes made by other processes on the same
// store (the CLI in local mode, other replicas) reach every stream.
const DefaultEventPoll = 500 * time.Millisecond

// events streams the audit log as server-sent events: every change, in
// order, from after= (or the Last-Event-ID header) on, until the client
// goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	after, err := queryInt(r, "after")
	if err != nil {
		return err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.Atoi(id)
		if err != nil {
			return fairway.FieldError("Last-Event-ID", "%q is not an event sequence number", id)
		}
		after = n
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return fairway.Errorf(fairway.EINTERNAL, "this connection cannot stream")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": fairway audit events after %d\n\n", after)
	flusher.Flush()

	last := int64(after)
	tick := time.NewTicker(s.EventPoll)
	defer tick.Stop()
	idle := 0
	for {
		events, err := s.service.AuditLog(r.Context(), fairway.AuditFilter{AfterSeq: last, Limit: 500})
		if err != nil {
			return nil // the client left, or the store did; either way the stream ends
		}
		for _, e := range events {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Action, data)
			last = e.Seq
		}
		if len(events) > 0 {
			idle = 0
			flusher.Flush()
		} else if idle++; time.Duration(idle)*s.EventPoll >= 15*time.Second {
			// A comment now and then keeps proxies from closing the stream.
			idle = 0
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		}
		if len(events) == 500 {
			continue
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
		}
	}
}
