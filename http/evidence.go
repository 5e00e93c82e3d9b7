package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"

	"fairway"
)

// evidenceMeta is the first part of an evidence upload: the record's
// fields and the names of the byte parts that follow, in order.
type evidenceMeta struct {
	fairway.EvidenceAdd
	Parts []string `json:"parts"`
}

// DefaultMaxEvidenceBytes is Server.MaxEvidenceBytes unless set.
const DefaultMaxEvidenceBytes int64 = 16 << 30

// uploadBudget counts the bytes an upload has sent against the limit.
type uploadBudget struct{ left, limit int64 }

// lazyPart reads one named part of a multipart upload when first read.
// The ledger reads parts in the order they are sent, so parts stream
// straight through without being buffered.
type lazyPart struct {
	mr     *multipart.Reader
	name   string
	r      io.Reader
	budget *uploadBudget
}

func (p *lazyPart) Read(b []byte) (int, error) {
	if p.r == nil {
		part, err := p.mr.NextPart()
		if errors.Is(err, io.EOF) {
			return 0, fairway.FieldError(p.name, "the upload ended before its %s part", p.name)
		} else if err != nil {
			return 0, fairway.FieldError(p.name, "malformed upload: %v", err)
		}
		if part.FormName() != p.name {
			return 0, fairway.FieldError(p.name, "expected the %s part next, got %q", p.name, part.FormName())
		}
		p.r = part
	}
	n, err := p.r.Read(b)
	if p.budget.left -= int64(n); p.budget.left < 0 {
		return n, fairway.FieldError(p.name, "the upload is larger than %d bytes, the most one evidence record may hold", p.budget.limit)
	}
	return n, err
}

func (s *Server) addEvidence(w http.ResponseWriter, r *http.Request) error {
	// The caller showed a credential: its bytes may take as long as the
	// command that makes them (MaxEvidenceBytes bounds their size).
	liftBodyDeadline(w)
	mr, err := r.MultipartReader()
	if err != nil {
		return fairway.Errorf(fairway.EINVALID, "evidence is uploaded as multipart/form-data: a meta part (JSON), then the byte parts")
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "meta" {
		return fairway.FieldError("meta", "the first part of an evidence upload must be meta, the record's JSON")
	}
	var meta evidenceMeta
	raw, err := io.ReadAll(io.LimitReader(part, MaxBodyBytes))
	if err != nil {
		return fairway.FieldError("meta", "cannot read the record's JSON: %v", err)
	}
	if name := fairway.FieldNamedTwice(raw); name != "" {
		return fairway.FieldError("meta", "%s is named twice; send each field once", name)
	}
	if err := textKeptAsSent(raw, "meta"); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return fairway.FieldError("meta", "malformed JSON: %v", err)
	}
	key := r.PathValue("key")
	if meta.Task != "" && meta.Task != key {
		return fairway.FieldError("task", "the upload is for %s but the URL names %s", meta.Task, key)
	}
	meta.Task = key
	var parts fairway.EvidenceParts
	budget := &uploadBudget{left: s.MaxEvidenceBytes, limit: s.MaxEvidenceBytes}
	for _, name := range meta.Parts {
		lp := &lazyPart{mr: mr, name: name, budget: budget}
		switch name {
		case fairway.PartContent:
			parts.Content = lp
		case fairway.PartStdout:
			parts.Stdout = lp
		case fairway.PartStderr:
			parts.Stderr = lp
		default:
			return fairway.FieldError("parts", "%q is not a part: use content, stdout and stderr", name)
		}
	}
	want := []string{fairway.PartContent, fairway.PartStdout, fairway.PartStderr}
	if !slices.IsSortedFunc(meta.Parts, func(a, b string) int { return slices.Index(want, a) - slices.Index(want, b) }) {
		return fairway.FieldError("parts", "send parts in the order content, stdout, stderr")
	}
	e, err := s.service.AddEvidence(r.Context(), meta.EvidenceAdd, parts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) listEvidence(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out, err := s.service.ListEvidence(r.Context(), fairway.EvidenceFilter{Task: q.Get("task"), Kind: q.Get("kind")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request) error {
	e, err := s.service.GetEvidence(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) evidenceContent(w http.ResponseWriter, r *http.Request) error {
	rc, err := s.service.OpenEvidence(r.Context(), r.PathValue("id"), r.URL.Query().Get("part"))
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// The status is sent: ending the response unfinished is what
		// tells the client its bytes are not the record's (the stored
		// blob changed, say), rather than a body that looks whole.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) verifyEvidence(w http.ResponseWriter, r *http.Request) error {
	v, err := s.service.VerifyEvidence(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) addClaim(w http.ResponseWriter, r *http.Request) error {
	var c fairway.ClaimAdd
	if err := decode(w, r, &c); err != nil {
		return err
	}
	if c.Task != "" && c.Task != r.PathValue("key") {
		return fairway.FieldError("task", "the claim is for %s but the URL names %s", c.Task, r.PathValue("key"))
	}
	c.Task = r.PathValue("key")
	out, err := s.service.AddClaim(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listClaims(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListClaims(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

// AddEvidence streams the parts to the server as one multipart upload.
func (c *Client) AddEvidence(ctx context.Context, a fairway.EvidenceAdd, parts fairway.EvidenceParts) (*fairway.Evidence, error) {
	meta := evidenceMeta{EvidenceAdd: a}
	type namedPart struct {
		name string
		r    io.Reader
	}
	var ordered []namedPart
	for _, p := range []namedPart{{fairway.PartContent, parts.Content}, {fairway.PartStdout, parts.Stdout}, {fairway.PartStderr, parts.Stderr}} {
		if p.r != nil {
			meta.Parts = append(meta.Parts, p.name)
			ordered = append(ordered, p)
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			fw, err := mw.CreateFormField("meta")
			if err != nil {
				return err
			}
			if err := json.NewEncoder(fw).Encode(meta); err != nil {
				return err
			}
			for _, p := range ordered {
				fw, err := mw.CreateFormFile(p.name, p.name)
				if err != nil {
					return err
				}
				if _, err := io.Copy(fw, p.r); err != nil {
					return fmt.Errorf("read %s: %w", p.name, err)
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/tasks/"+pathEscape(a.Task)+"/evidence", pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out fairway.Evidence
	if err := c.send(req, &out, nil); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	return &out, nil
}

// GetEvidence returns one record.
func (c *Client) GetEvidence(ctx context.Context, id string) (*fairway.Evidence, error) {
	var out fairway.Evidence
	return &out, c.do(ctx, "GET", "/api/v1/evidence/"+pathEscape(id), nil, nil, &out, nil)
}

// ListEvidence lists records.
func (c *Client) ListEvidence(ctx context.Context, f fairway.EvidenceFilter) ([]*fairway.Evidence, error) {
	q := url.Values{}
	setNonEmpty(q, "task", f.Task)
	setNonEmpty(q, "kind", f.Kind)
	var out []*fairway.Evidence
	return out, c.do(ctx, "GET", "/api/v1/evidence", q, nil, &out, nil)
}

// OpenEvidence streams the bytes of one part.
func (c *Client) OpenEvidence(ctx context.Context, id, part string) (io.ReadCloser, error) {
	u := c.base + "/api/v1/evidence/" + pathEscape(id) + "/content"
	if part != "" {
		u += "?part=" + url.QueryEscape(part)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fairway.Errorf(fairway.EINTERNAL, "cannot reach the Fairway server at %s: %v", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeError(resp, nil)
	}
	return resp.Body, nil
}

// VerifyEvidence asks the server to recompute every evidence digest.
func (c *Client) VerifyEvidence(ctx context.Context) (*fairway.EvidenceVerification, error) {
	var out fairway.EvidenceVerification
	return &out, c.do(ctx, "GET", "/api/v1/evidence/verify", nil, nil, &out, nil)
}

// AddClaim records a claim.
func (c *Client) AddClaim(ctx context.Context, in fairway.ClaimAdd) (*fairway.Claim, error) {
	var out fairway.Claim
	return &out, c.do(ctx, "POST", "/api/v1/tasks/"+pathEscape(in.Task)+"/claims", nil, in, &out, nil)
}

// ListClaims lists a task's claims.
func (c *Client) ListClaims(ctx context.Context, task string) ([]*fairway.Claim, error) {
	var out []*fairway.Claim
	return out, c.do(ctx, "GET", "/api/v1/tasks/"+pathEscape(task)+"/claims", nil, nil, &out, nil)
}
