package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"fairway"
)

func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	in := fairway.SearchQuery{Text: q.Get("q"), Kind: q.Get("kind"), Lane: q.Get("lane")}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	in.Limit = limit
	out, err := s.service.Search(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

// Search finds records by their words, best first.
func (c *Client) Search(ctx context.Context, in fairway.SearchQuery) ([]*fairway.SearchHit, error) {
	q := url.Values{}
	q.Set("q", in.Text)
	setNonEmpty(q, "kind", in.Kind)
	setNonEmpty(q, "lane", in.Lane)
	if in.Limit != 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	var out []*fairway.SearchHit
	return out, c.do(ctx, "GET", "/api/v1/search", q, nil, &out, nil)
}
