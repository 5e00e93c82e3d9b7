package http

import (
	"context"
	"net/http"
	"net/url"

	"fairway"
)

func (s *Server) attachSession(w http.ResponseWriter, r *http.Request) error {
	var in fairway.SessionAttach
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.AttachSession(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) heartbeatSession(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.HeartbeatSession(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sessionDetach is the body of a detach.
type sessionDetach struct {
	Handoff string `json:"handoff"`
}

func (s *Server) detachSession(w http.ResponseWriter, r *http.Request) error {
	var in sessionDetach
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.DetachSession(r.Context(), r.PathValue("id"), in.Handoff)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) observeSession(w http.ResponseWriter, r *http.Request) error {
	var in fairway.SessionObserve
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Session != "" && in.Session != r.PathValue("id") {
		return fairway.FieldError("session", "names %s but the path names %s", in.Session, r.PathValue("id"))
	}
	in.Session = r.PathValue("id")
	out, err := s.service.ObserveSession(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.GetSession(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := fairway.SessionFilter{Task: q.Get("task"), Actor: q.Get("actor"), State: q.Get("state")}
	switch q.Get("live") {
	case "", "false":
	case "true":
		f.Live = true
	default:
		return fairway.FieldError("live", "must be true or false")
	}
	out, err := s.service.ListSessions(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

// AttachSession attaches a session to a task.
func (c *Client) AttachSession(ctx context.Context, a fairway.SessionAttach) (*fairway.AttachedSession, error) {
	var out fairway.AttachedSession
	return &out, c.do(ctx, "POST", "/api/v1/sessions", nil, a, &out, nil)
}

// HeartbeatSession renews a session's lease.
func (c *Client) HeartbeatSession(ctx context.Context, id string) (*fairway.Session, error) {
	var out fairway.Session
	return &out, c.do(ctx, "POST", "/api/v1/sessions/"+pathEscape(id)+"/heartbeat", nil, struct{}{}, &out, nil)
}

// DetachSession ends a session with a handoff.
func (c *Client) DetachSession(ctx context.Context, id, handoff string) (*fairway.Session, error) {
	var out fairway.Session
	return &out, c.do(ctx, "POST", "/api/v1/sessions/"+pathEscape(id)+"/detach", nil, sessionDetach{Handoff: handoff}, &out, nil)
}

// ObserveSession records an observation of a session.
func (c *Client) ObserveSession(ctx context.Context, o fairway.SessionObserve) (*fairway.Observation, error) {
	if err := fairway.ValidateSessionID("session", o.Session); err != nil {
		return nil, err
	}
	var out fairway.Observation
	return &out, c.do(ctx, "POST", "/api/v1/sessions/"+pathEscape(o.Session)+"/observations", nil, o, &out, nil)
}

// GetSession returns a session with its observations.
func (c *Client) GetSession(ctx context.Context, id string) (*fairway.Session, error) {
	if err := fairway.ValidateSessionID("session", id); err != nil {
		return nil, err
	}
	var out fairway.Session
	return &out, c.do(ctx, "GET", "/api/v1/sessions/"+pathEscape(id), nil, nil, &out, nil)
}

// ListSessions lists sessions.
func (c *Client) ListSessions(ctx context.Context, f fairway.SessionFilter) ([]*fairway.Session, error) {
	q := url.Values{}
	setNonEmpty(q, "task", f.Task)
	setNonEmpty(q, "actor", f.Actor)
	setNonEmpty(q, "state", f.State)
	if f.Live {
		q.Set("live", "true")
	}
	var out []*fairway.Session
	return out, c.do(ctx, "GET", "/api/v1/sessions", q, nil, &out, nil)
}
