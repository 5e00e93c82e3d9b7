package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"fairway"
)

func (s *Server) proposeNarrowing(w http.ResponseWriter, r *http.Request) error {
	var in fairway.TaskUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.ProposeNarrowing(r.Context(), r.PathValue("key"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) approveNarrowing(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fairway.FieldError("id", "%q is not a narrowing number", r.PathValue("id"))
	}
	out, err := s.service.ApproveNarrowing(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listNarrowings(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListNarrowings(r.Context(), r.URL.Query().Get("task"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

// ProposeNarrowing proposes an update that narrows a task's gate.
func (c *Client) ProposeNarrowing(ctx context.Context, key string, u fairway.TaskUpdate) (*fairway.Narrowing, error) {
	var out fairway.Narrowing
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(key)+"/narrowings", nil, u, &out, nil)
}

// ApproveNarrowing approves a narrowing for the caller's domains.
func (c *Client) ApproveNarrowing(ctx context.Context, id int64) (*fairway.Narrowing, error) {
	var out fairway.Narrowing
	return &out, c.do(ctx, "POST", "/api/v1/narrowings/"+strconv.FormatInt(id, 10)+"/approve", nil, struct{}{}, &out, nil)
}

// ListNarrowings lists a task's narrowings, or every one.
func (c *Client) ListNarrowings(ctx context.Context, task string) ([]*fairway.Narrowing, error) {
	q := url.Values{}
	setNonEmpty(q, "task", task)
	var out []*fairway.Narrowing
	return out, c.do(ctx, "GET", "/api/v1/narrowings", q, nil, &out, nil)
}
