package http

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"fairway"
)

// keepAlive is how long an idle event stream waits before sending a
// comment, which keeps proxies from closing it.
const keepAlive = 15 * time.Second

// events streams the audit log as server-sent events: every change, in
// order, from after= (or the Last-Event-ID header) on, until the client
// goes away. The service's Watch delivers them.
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
		if n < 0 {
			return fairway.FieldError("Last-Event-ID", "must be 0 (from the first event) or an event sequence number, not %d", n)
		}
		after = n
	}
	if after < 0 {
		return fairway.FieldError("after", "must be 0 (from the first event) or an event sequence number, not %d", after)
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

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The Watch records the head each batch was read at; an event's check
	// is made at it, so the head is read once per batch, not per event.
	batch := fairway.NewContextWithWatchHead(ctx, &fairway.WatchHead{})
	events := make(chan *fairway.AuditEvent)
	go func() {
		defer close(events)
		s.service.Watch(batch, fairway.AuditFilter{AfterSeq: int64(after), Subject: r.URL.Query().Get("subject")}, func(e *fairway.AuditEvent) error {
			select {
			case events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// The credential is asked again before every event (at its batch's
	// head) and keep-alive (at the store's): one revoked or expired after
	// the stream opened ends it, so the client's reconnect is refused
	// saying why.
	token, _ := bearerToken(r.Header.Get("Authorization"))
	valid := func(ctx context.Context) bool {
		if _, _, err := s.auth.Authenticate(ctx, token); err != nil {
			fmt.Fprintf(w, ": %s\n\n", strings.ReplaceAll(fairway.ErrorMessage(err), "\n", " "))
			flusher.Flush()
			return false
		}
		return true
	}
	idle := time.NewTimer(keepAlive)
	defer idle.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return nil // the client left, or the store did; either way the stream ends
			}
			if !valid(batch) {
				return nil
			}
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Action, data)
			flusher.Flush()
			idle.Reset(keepAlive)
		case <-idle.C:
			if !valid(ctx) {
				return nil
			}
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
			idle.Reset(keepAlive)
		}
	}
}

// Watch follows the server's event stream, resuming after the last event
// it delivered when the connection drops.
func (c *Client) Watch(ctx context.Context, f fairway.AuditFilter, fn func(*fairway.AuditEvent) error) error {
	last := f.AfterSeq
	for {
		err := c.stream(ctx, f.Subject, last, func(e *fairway.AuditEvent) error {
			last = e.Seq
			return fn(e)
		})
		if ctx.Err() != nil {
			return nil
		}
		var callback *callbackError
		if errors.As(err, &callback) {
			return callback.err
		}
		var fe *fairway.Error
		if errors.As(err, &fe) && fe.Code != fairway.EINTERNAL {
			return err // refused (a revoked token, say): retrying will not help
		}
		// The connection dropped or the server restarted: resume.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// callbackError carries the error of Watch's fn out of the stream.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// stream reads one server-sent event connection.
func (c *Client) stream(ctx context.Context, subject string, after int64, fn func(*fairway.AuditEvent) error) error {
	q := url.Values{}
	q.Set("after", strconv.FormatInt(after, 10))
	setNonEmpty(q, "subject", subject)
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/events?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	c.authorize(req)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return fairway.Errorf(fairway.EINTERNAL, "cannot reach the Fairway server at %s: %v", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp, nil)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e fairway.AuditEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return fmt.Errorf("event stream: %w", err)
		}
		if err := fn(&e); err != nil {
			return &callbackError{err}
		}
	}
	return sc.Err()
}
