package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"fairway"
)

func deployRunID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fairway.FieldError("id", "%q is not a deploy-run number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) startDeploy(w http.ResponseWriter, r *http.Request) error {
	var in fairway.DeployStart
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.StartDeploy(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) moveStage(w http.ResponseWriter, r *http.Request) error {
	id, err := deployRunID(r)
	if err != nil {
		return err
	}
	var in fairway.StageMove
	if err := decode(w, r, &in); err != nil {
		return err
	}
	in.Run, in.Stage = id, r.PathValue("stage")
	out, err := s.service.MoveStage(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) decideNoRollback(w http.ResponseWriter, r *http.Request) error {
	id, err := deployRunID(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.DecideNoRollback(r.Context(), id, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDeployRun(w http.ResponseWriter, r *http.Request) error {
	id, err := deployRunID(r)
	if err != nil {
		return err
	}
	out, err := s.service.GetDeployRun(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listDeployRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out, err := s.service.ListDeployRuns(r.Context(), fairway.DeployFilter{Task: q.Get("task"), Environment: q.Get("environment")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

// StartDeploy opens a deploy-run.
func (c *Client) StartDeploy(ctx context.Context, in fairway.DeployStart) (*fairway.DeployRun, error) {
	var out fairway.DeployRun
	return &out, c.do(ctx, "POST", "/api/v1/deploys", nil, in, &out, nil)
}

// MoveStage moves one stage of a run.
func (c *Client) MoveStage(ctx context.Context, in fairway.StageMove) (*fairway.DeployRun, error) {
	var out fairway.DeployRun
	path := "/api/v1/deploys/" + strconv.FormatInt(in.Run, 10) + "/stages/" + pathEscape(in.Stage)
	return &out, c.do(ctx, "POST", path, nil, in, &out, nil)
}

// DecideNoRollback records a human's decision not to roll back a run.
func (c *Client) DecideNoRollback(ctx context.Context, id int64, reason string) (*fairway.DeployRun, error) {
	var out fairway.DeployRun
	body := struct {
		Reason string `json:"reason"`
	}{reason}
	return &out, c.do(ctx, "POST", "/api/v1/deploys/"+strconv.FormatInt(id, 10)+"/no-rollback", nil, body, &out, nil)
}

// GetDeployRun returns one run.
func (c *Client) GetDeployRun(ctx context.Context, id int64) (*fairway.DeployRun, error) {
	var out fairway.DeployRun
	return &out, c.do(ctx, "GET", "/api/v1/deploys/"+strconv.FormatInt(id, 10), nil, nil, &out, nil)
}

// ListDeployRuns lists runs by task and environment.
func (c *Client) ListDeployRuns(ctx context.Context, f fairway.DeployFilter) ([]*fairway.DeployRun, error) {
	q := url.Values{}
	setNonEmpty(q, "task", f.Task)
	setNonEmpty(q, "environment", f.Environment)
	var out []*fairway.DeployRun
	return out, c.do(ctx, "GET", "/api/v1/deploys", q, nil, &out, nil)
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := fairway.PlanFilter{Lane: q.Get("lane")}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	f.Limit = limit
	out, err := s.service.Plan(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Plan returns the waiting lanes and the safe fallback work meanwhile.
func (c *Client) Plan(ctx context.Context, f fairway.PlanFilter) (*fairway.Plan, error) {
	q := url.Values{}
	setNonEmpty(q, "lane", f.Lane)
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out fairway.Plan
	return &out, c.do(ctx, "GET", "/api/v1/plan", q, nil, &out, nil)
}

func (s *Server) environmentStatus(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.EnvironmentStatus(r.Context(), r.PathValue("name"), r.URL.Query().Get("task"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// EnvironmentStatus reads an environment and what blocks mutating work
// there, counting the task's waivers when one is given.
func (c *Client) EnvironmentStatus(ctx context.Context, name, task string) (*fairway.EnvironmentState, error) {
	q := url.Values{}
	setNonEmpty(q, "task", task)
	var out fairway.EnvironmentState
	return &out, c.do(ctx, "GET", "/api/v1/environments/"+pathEscape(name), q, nil, &out, nil)
}
