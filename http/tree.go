package http

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"fairway"
)

func (s *Server) auditTree(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.AuditTree(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// latestCheckpoint serves the newest signed checkpoint as the signed note
// itself (text/plain), as transparency-log witnesses fetch it.
func (s *Server) latestCheckpoint(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.Checkpoints(r.Context(), fairway.CheckpointFilter{Limit: 1})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return fairway.Errorf(fairway.ENOTFOUND, "no checkpoint is signed yet; run `fairway audit checkpoint --key FILE`")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, out[0].Note)
	return nil
}

func (s *Server) listCheckpoints(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	out, err := s.service.Checkpoints(r.Context(), fairway.CheckpointFilter{Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) publishCheckpoint(w http.ResponseWriter, r *http.Request) error {
	var in fairway.CheckpointInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.service.PublishCheckpoint(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) inclusionProof(w http.ResponseWriter, r *http.Request) error {
	seq, err := queryInt(r, "seq")
	if err != nil {
		return err
	}
	size, err := queryInt(r, "size")
	if err != nil {
		return err
	}
	out, err := s.service.InclusionProof(r.Context(), int64(seq), int64(size))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) consistencyProof(w http.ResponseWriter, r *http.Request) error {
	from, err := queryInt(r, "from")
	if err != nil {
		return err
	}
	to, err := queryInt(r, "to")
	if err != nil {
		return err
	}
	out, err := s.service.ConsistencyProof(r.Context(), int64(from), int64(to))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// AuditTree asks for the tree's size and root.
func (c *Client) AuditTree(ctx context.Context) (*fairway.TreeHead, error) {
	var out fairway.TreeHead
	return &out, c.do(ctx, "GET", "/api/v1/audit/tree", nil, nil, &out, nil)
}

// PublishCheckpoint stores a signed checkpoint on the server.
func (c *Client) PublishCheckpoint(ctx context.Context, in *fairway.CheckpointInput) (*fairway.Checkpoint, error) {
	var out fairway.Checkpoint
	return &out, c.do(ctx, "POST", "/api/v1/checkpoints", nil, in, &out, nil)
}

// Checkpoints lists the server's checkpoints, newest first.
func (c *Client) Checkpoints(ctx context.Context, f fairway.CheckpointFilter) ([]*fairway.Checkpoint, error) {
	q := url.Values{}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []*fairway.Checkpoint
	return out, c.do(ctx, "GET", "/api/v1/checkpoints", q, nil, &out, nil)
}

// InclusionProof asks for the proof of one event in the tree of size.
func (c *Client) InclusionProof(ctx context.Context, seq, size int64) (*fairway.InclusionProof, error) {
	q := url.Values{"seq": {strconv.FormatInt(seq, 10)}, "size": {strconv.FormatInt(size, 10)}}
	var out fairway.InclusionProof
	return &out, c.do(ctx, "GET", "/api/v1/audit/proof/inclusion", q, nil, &out, nil)
}

// ConsistencyProof asks for the proof that tree to extends tree from.
func (c *Client) ConsistencyProof(ctx context.Context, from, to int64) (*fairway.ConsistencyProof, error) {
	q := url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	var out fairway.ConsistencyProof
	return &out, c.do(ctx, "GET", "/api/v1/audit/proof/consistency", q, nil, &out, nil)
}
