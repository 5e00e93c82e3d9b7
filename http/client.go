package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"fairway"
)

// Client implements fairway.Service against a Fairway server.
type Client struct {
	base  string
	token string
	http  *http.Client
}

var _ fairway.Service = (*Client)(nil)

// NewClient returns a client for the server at baseURL that authenticates
// with token.
func NewClient(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &http.Client{}}
}

// do sends one JSON request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any, decision **fairway.GateDecision) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out, decision)
}

func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// send performs a request and decodes its JSON answer or error.
func (c *Client) send(req *http.Request, out any, decision **fairway.GateDecision) error {
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fairway.Errorf(fairway.EINTERNAL, "cannot reach the Fairway server at %s: %v", c.base, err)
	}
	defer func() {
		// Drain so the connection goes back to the pool.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if resp.StatusCode >= 300 {
		return decodeError(resp, decision)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// decodeError turns an error answer into the *fairway.Error the server
// sent; a refused close also fills decision.
func decodeError(resp *http.Response, decision **fairway.GateDecision) error {
	var eb errorBody
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error == nil {
		return fairway.Errorf(fairway.EINTERNAL, "server answered %s without an error body", resp.Status)
	}
	if decision != nil {
		*decision = eb.Decision
	}
	return eb.Error
}

func pathEscape(s string) string { return url.PathEscape(s) }

// CreateActor creates an actor.
func (c *Client) CreateActor(ctx context.Context, in fairway.ActorCreate) (*fairway.ActorCreated, error) {
	var out fairway.ActorCreated
	return &out, c.do(ctx, "POST", "/api/v1/actors", nil, in, &out, nil)
}

// GetActor returns one actor.
func (c *Client) GetActor(ctx context.Context, name string) (*fairway.Actor, error) {
	var out fairway.Actor
	return &out, c.do(ctx, "GET", "/api/v1/actors/"+pathEscape(name), nil, nil, &out, nil)
}

// DisableActor disables an actor.
func (c *Client) DisableActor(ctx context.Context, name, reason string) (*fairway.Actor, error) {
	var out fairway.Actor
	return &out, c.do(ctx, "POST", "/api/v1/actors/"+pathEscape(name)+"/disable", nil, map[string]string{"reason": reason}, &out, nil)
}

// BindIdentity binds an actor to an identity provider's subject.
func (c *Client) BindIdentity(ctx context.Context, name, issuer, subject string) (*fairway.Actor, error) {
	var out fairway.Actor
	return &out, c.do(ctx, "POST", "/api/v1/actors/"+pathEscape(name)+"/identity", nil, map[string]string{"issuer": issuer, "subject": subject}, &out, nil)
}

// RotateToken revokes an actor's tokens and issues a new one.
func (c *Client) RotateToken(ctx context.Context, name string, ttl time.Duration) (*fairway.ActorCreated, error) {
	var out fairway.ActorCreated
	var q url.Values
	if ttl != 0 {
		q = url.Values{"ttl": {ttl.String()}}
	}
	return &out, c.do(ctx, "POST", "/api/v1/actors/"+pathEscape(name)+"/token", q, nil, &out, nil)
}

// RevokeTokens revokes an actor's tokens.
func (c *Client) RevokeTokens(ctx context.Context, name string) (int, error) {
	var out struct {
		Revoked int `json:"revoked"`
	}
	return out.Revoked, c.do(ctx, "DELETE", "/api/v1/actors/"+pathEscape(name)+"/tokens", nil, nil, &out, nil)
}

// ListTokens lists an actor's tokens not revoked; the caller's own when
// actor is empty.
func (c *Client) ListTokens(ctx context.Context, actor string) ([]*fairway.Token, error) {
	var out []*fairway.Token
	q := url.Values{}
	if actor != "" {
		q.Set("actor", actor)
	}
	return out, c.do(ctx, "GET", "/api/v1/tokens", q, nil, &out, nil)
}

// RevokeToken revokes one token by its id.
func (c *Client) RevokeToken(ctx context.Context, id string) (*fairway.Token, error) {
	var out fairway.Token
	return &out, c.do(ctx, "DELETE", "/api/v1/tokens/"+pathEscape(id), nil, nil, &out, nil)
}

// ListActors lists actors.
func (c *Client) ListActors(ctx context.Context) ([]*fairway.Actor, error) {
	var out []*fairway.Actor
	return out, c.do(ctx, "GET", "/api/v1/actors", nil, nil, &out, nil)
}

// Whoami returns the actor the token belongs to.
func (c *Client) Whoami(ctx context.Context) (*fairway.Actor, error) {
	var out fairway.Actor
	return &out, c.do(ctx, "GET", "/api/v1/whoami", nil, nil, &out, nil)
}

// CreateLane creates a lane.
func (c *Client) CreateLane(ctx context.Context, in fairway.LaneCreate) (*fairway.Lane, error) {
	var out fairway.Lane
	return &out, c.do(ctx, "POST", "/api/v1/lanes", nil, in, &out, nil)
}

// GetLane returns a lane and its state.
func (c *Client) GetLane(ctx context.Context, name string) (*fairway.LaneState, error) {
	var out fairway.LaneState
	return &out, c.do(ctx, "GET", "/api/v1/lanes/"+pathEscape(name), nil, nil, &out, nil)
}

// ListLanes lists lanes and their states.
func (c *Client) ListLanes(ctx context.Context) ([]*fairway.LaneState, error) {
	var out []*fairway.LaneState
	return out, c.do(ctx, "GET", "/api/v1/lanes", nil, nil, &out, nil)
}

// CreateTask creates a task.
func (c *Client) CreateTask(ctx context.Context, in fairway.TaskCreate) (*fairway.Task, error) {
	var out fairway.Task
	return &out, c.do(ctx, "POST", "/api/v1/tasks", nil, in, &out, nil)
}

// TaskView returns a task with everything around it.
func (c *Client) TaskView(ctx context.Context, key string) (*fairway.TaskView, error) {
	var out fairway.TaskView
	return &out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(key)+"/view", nil, nil, &out, nil)
}

// GetTask returns one task.
func (c *Client) GetTask(ctx context.Context, key string) (*fairway.Task, error) {
	var out fairway.Task
	return &out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(key), nil, nil, &out, nil)
}

// ListTasks lists tasks.
func (c *Client) ListTasks(ctx context.Context, f fairway.TaskFilter) ([]*fairway.Task, error) {
	q := url.Values{}
	setNonEmpty(q, "lane", f.Lane)
	setNonEmpty(q, "status", f.Status)
	setNonEmpty(q, "owner", f.Owner)
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []*fairway.Task
	return out, c.do(ctx, "GET", "/api/v1/tasks", q, nil, &out, nil)
}

// UpdateTask changes a task's fields.
func (c *Client) UpdateTask(ctx context.Context, key string, u fairway.TaskUpdate) (*fairway.Task, error) {
	var out fairway.Task
	return &out, c.do(ctx, "PATCH", "/api/v1/tasks/"+pathEscape(key), nil, u, &out, nil)
}

// TransitionTask moves a task to another status.
func (c *Client) TransitionTask(ctx context.Context, key string, t fairway.Transition) (*fairway.Task, error) {
	var out fairway.Task
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(key)+"/transition", nil, t, &out, nil)
}

// TakeTask starts an open task as the caller.
func (c *Client) TakeTask(ctx context.Context, key string) (*fairway.Task, error) {
	var out fairway.Task
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(key)+"/take", nil, nil, &out, nil)
}

// CloseTask closes a task through its gate, acknowledging failing latest
// evidence by ID.
func (c *Client) CloseTask(ctx context.Context, key string, acknowledge ...string) (*fairway.GateDecision, error) {
	var out fairway.GateDecision
	var refused *fairway.GateDecision
	in := struct {
		Acknowledge []string `json:"acknowledge,omitempty"`
	}{acknowledge}
	err := c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(key)+"/close", nil, in, &out, &refused)
	if err != nil {
		return refused, err
	}
	return &out, nil
}

// CancelTask cancels a task.
func (c *Client) CancelTask(ctx context.Context, key, reason string) (*fairway.Task, error) {
	var out fairway.Task
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(key)+"/cancel", nil, cancelRequest{Reason: reason}, &out, nil)
}

// ExplainGate evaluates a task's gate.
func (c *Client) ExplainGate(ctx context.Context, key string) (*fairway.GateDecision, error) {
	var out fairway.GateDecision
	return &out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(key)+"/gate", nil, nil, &out, nil)
}

// AddDependency records that blocker must be done before blocked.
func (c *Client) AddDependency(ctx context.Context, blocked, blocker string) error {
	return c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(blocked)+"/dependencies", nil, dependencyRequest{Blocker: blocker}, nil, nil)
}

// RemoveDependency deletes a dependency.
func (c *Client) RemoveDependency(ctx context.Context, blocked, blocker string) error {
	return c.do(ctx, "DELETE", "/api/v1/tasks/"+pathEscape(blocked)+"/dependencies/"+pathEscape(blocker), nil, nil, nil, nil)
}

// Dependencies returns both directions of a task's dependencies.
func (c *Client) Dependencies(ctx context.Context, key string) (*fairway.TaskDependencies, error) {
	var out fairway.TaskDependencies
	return &out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(key)+"/dependencies", nil, nil, &out, nil)
}

// Next lists what can be worked on now.
func (c *Client) Next(ctx context.Context, f fairway.NextFilter) ([]*fairway.Task, error) {
	q := url.Values{}
	setNonEmpty(q, "lane", f.Lane)
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.SafeOnly {
		q.Set("safe", "true")
	}
	setNonEmpty(q, "owner", f.Owner)
	var out []*fairway.Task
	return out, c.do(ctx, "GET", "/api/v1/next", q, nil, &out, nil)
}

// AuditLog pages through the audit log.
func (c *Client) AuditLog(ctx context.Context, f fairway.AuditFilter) ([]*fairway.AuditEvent, error) {
	q := url.Values{}
	if f.AfterSeq != 0 {
		q.Set("after", strconv.FormatInt(f.AfterSeq, 10))
	}
	setNonEmpty(q, "subject", f.Subject)
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []*fairway.AuditEvent
	return out, c.do(ctx, "GET", "/api/v1/audit", q, nil, &out, nil)
}

// VerifyAudit asks the server to verify its audit chain.
func (c *Client) VerifyAudit(ctx context.Context) (*fairway.AuditVerification, error) {
	var out fairway.AuditVerification
	return &out, c.do(ctx, "GET", "/api/v1/audit/verify", nil, nil, &out, nil)
}

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
