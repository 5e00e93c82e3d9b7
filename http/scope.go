package http

import (
	"context"
	"net/http"

	"fairway"
)

func (s *Server) checkScope(w http.ResponseWriter, r *http.Request) error {
	var c fairway.ScopeCheck
	if err := decode(w, r, &c); err != nil {
		return err
	}
	if c.Task != "" && c.Task != r.PathValue("key") {
		return fairway.FieldError("task", "the check is for %s but the URL names %s", c.Task, r.PathValue("key"))
	}
	c.Task = r.PathValue("key")
	out, err := s.service.CheckScope(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) acknowledgeScope(w http.ResponseWriter, r *http.Request) error {
	var a fairway.ScopeAcknowledge
	if err := decode(w, r, &a); err != nil {
		return err
	}
	if a.Task != "" && a.Task != r.PathValue("key") {
		return fairway.FieldError("task", "the acknowledgement is for %s but the URL names %s", a.Task, r.PathValue("key"))
	}
	a.Task = r.PathValue("key")
	out, err := s.service.AcknowledgeScope(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) scopeRecords(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ScopeRecords(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

// CheckScope records a scope check.
func (c *Client) CheckScope(ctx context.Context, in fairway.ScopeCheck) (*fairway.ScopeRecord, error) {
	var out fairway.ScopeRecord
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(in.Task)+"/scope/checks", nil, in, &out, nil)
}

// AcknowledgeScope records a human's acknowledgement of outside paths.
func (c *Client) AcknowledgeScope(ctx context.Context, in fairway.ScopeAcknowledge) (*fairway.ScopeRecord, error) {
	var out fairway.ScopeRecord
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(in.Task)+"/scope/acknowledgements", nil, in, &out, nil)
}

// ScopeRecords lists a task's scope records.
func (c *Client) ScopeRecords(ctx context.Context, task string) ([]*fairway.ScopeRecord, error) {
	var out []*fairway.ScopeRecord
	return out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(task)+"/scope", nil, nil, &out, nil)
}
