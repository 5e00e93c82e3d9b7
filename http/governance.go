package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"fairway"
)

func (s *Server) addReview(w http.ResponseWriter, r *http.Request) error {
	var in fairway.ReviewAdd
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Task != "" && in.Task != r.PathValue("key") {
		return fairway.FieldError("task", "the review is for %s but the URL names %s", in.Task, r.PathValue("key"))
	}
	in.Task = r.PathValue("key")
	out, err := s.service.AddReview(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListReviews(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) requestWaiver(w http.ResponseWriter, r *http.Request) error {
	var in fairway.WaiverRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.RequestWaiver(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) approveWaiver(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fairway.FieldError("id", "%q is not a waiver number", r.PathValue("id"))
	}
	out, err := s.service.ApproveWaiver(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listWaivers(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListWaivers(r.Context(), r.URL.Query().Get("task"), r.URL.Query().Get("lane"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) activePolicy(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ActivePolicy(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// policyUpload carries a governance file.
type policyUpload struct {
	File   string `json:"file"`
	Source string `json:"source"`
}

func (s *Server) bootstrapPolicy(w http.ResponseWriter, r *http.Request) error {
	var in policyUpload
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.BootstrapPolicy(r.Context(), in.File, []byte(in.Source))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) proposePolicy(w http.ResponseWriter, r *http.Request) error {
	var in policyUpload
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.ProposePolicy(r.Context(), r.PathValue("key"), in.File, []byte(in.Source))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// AddReview records a verdict.
func (c *Client) AddReview(ctx context.Context, in fairway.ReviewAdd) (*fairway.Review, error) {
	var out fairway.Review
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(in.Task)+"/reviews", nil, in, &out, nil)
}

// ListReviews lists a task's verdicts.
func (c *Client) ListReviews(ctx context.Context, task string) ([]*fairway.Review, error) {
	var out []*fairway.Review
	return out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(task)+"/reviews", nil, nil, &out, nil)
}

// RequestWaiver asks for a waiver.
func (c *Client) RequestWaiver(ctx context.Context, in fairway.WaiverRequest) (*fairway.Waiver, error) {
	var out fairway.Waiver
	return &out, c.do(ctx, "POST", "/api/v1/waivers", nil, in, &out, nil)
}

// ApproveWaiver approves a waiver.
func (c *Client) ApproveWaiver(ctx context.Context, id int64) (*fairway.Waiver, error) {
	var out fairway.Waiver
	return &out, c.do(ctx, "POST", "/api/v1/waivers/"+strconv.FormatInt(id, 10)+"/approve", nil, struct{}{}, &out, nil)
}

// ListWaivers lists waivers of a task and of a lane.
func (c *Client) ListWaivers(ctx context.Context, task, lane string) ([]*fairway.Waiver, error) {
	q := url.Values{}
	setNonEmpty(q, "task", task)
	setNonEmpty(q, "lane", lane)
	var out []*fairway.Waiver
	return out, c.do(ctx, "GET", "/api/v1/waivers", q, nil, &out, nil)
}

// ActivePolicy returns the policy in force.
func (c *Client) ActivePolicy(ctx context.Context) (*fairway.PolicyRecord, error) {
	var out fairway.PolicyRecord
	return &out, c.do(ctx, "GET", "/api/v1/policy", nil, nil, &out, nil)
}

// BootstrapPolicy puts the first policy in force.
func (c *Client) BootstrapPolicy(ctx context.Context, file string, source []byte) (*fairway.PolicyRecord, error) {
	var out fairway.PolicyRecord
	return &out, c.do(ctx, "POST", "/api/v1/policy/bootstrap", nil, policyUpload{File: file, Source: string(source)}, &out, nil)
}

// ProposePolicy attaches a policy to a task.
func (c *Client) ProposePolicy(ctx context.Context, task, file string, source []byte) (*fairway.PolicyRecord, error) {
	var out fairway.PolicyRecord
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(task)+"/policy", nil, policyUpload{File: file, Source: string(source)}, &out, nil)
}
