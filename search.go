package fairway

import (
	"context"
	"strconv"
	"strings"
	"unicode"
)

// Kinds of search hits.
const (
	SearchTask     = "task"
	SearchClaim    = "claim"
	SearchEvidence = "evidence"
	SearchHandoff  = "handoff"
)

// MaxSearchLimit bounds how many hits one search returns.
const MaxSearchLimit = 200

// SearchQuery asks for records whose text holds every word of Text:
// tasks (title and scope), claims, handoffs and evidence metadata (kind,
// filename, note). Kind and Lane narrow it; Limit defaults to 20.
type SearchQuery struct {
	Text  string `json:"text"`
	Kind  string `json:"kind,omitempty"`
	Lane  string `json:"lane,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// Validate checks the query and fills in the default limit.
func (q *SearchQuery) Validate() error {
	if len(SearchTerms(q.Text)) == 0 {
		return FieldError("text", "give at least one word to search for")
	}
	if len(q.Text) > 1000 {
		return FieldError("text", "is %d bytes; a search is at most 1000", len(q.Text))
	}
	switch q.Kind {
	case "", SearchTask, SearchClaim, SearchEvidence, SearchHandoff:
	default:
		return FieldError("kind", "%q is not one of task, claim, evidence, handoff", q.Kind)
	}
	if q.Lane != "" {
		if err := ValidateLaneName("lane", q.Lane); err != nil {
			return err
		}
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		return FieldError("limit", "must be between 1 and %d", MaxSearchLimit)
	}
	if q.Limit == 0 {
		q.Limit = 20
	}
	return nil
}

// SearchHit is one record a search found, best first.
type SearchHit struct {
	Kind string `json:"kind"`
	// ID is the task key, claim number, evidence ID or session ID.
	ID   string `json:"id"`
	Task string `json:"task"`
	Lane string `json:"lane"`
	// Text is the record's searched text.
	Text string `json:"text"`
	// Score orders hits, higher first; it compares hits of one search only.
	Score float64 `json:"score"`
}

// SearchService finds records by their words.
type SearchService interface {
	Search(ctx context.Context, q SearchQuery) ([]*SearchHit, error)
}

// SearchDoc is the text one record gives full-text search. Every store
// indexes the same documents, built here, on the same transaction as the
// write that changed the record.
type SearchDoc struct {
	Kind, ID, Task, Text string
}

// TaskSearchDoc is a task's title and scope.
func TaskSearchDoc(t *Task) SearchDoc {
	parts := []string{t.Title, t.Scope.Text}
	for _, l := range [][]string{t.Scope.Surfaces, t.Scope.ChangeClasses, t.Scope.Contracts, t.Scope.Paths} {
		parts = append(parts, strings.Join(l, " "))
	}
	return SearchDoc{Kind: SearchTask, ID: t.Key, Task: t.Key, Text: joinNonEmpty(parts)}
}

// EvidenceSearchDoc is an evidence record's kind, filename and note.
func EvidenceSearchDoc(e *Evidence) SearchDoc {
	return SearchDoc{Kind: SearchEvidence, ID: e.ID, Task: e.Task, Text: joinNonEmpty([]string{e.Kind, e.Filename, e.Note})}
}

// ClaimSearchDoc is a claim's text.
func ClaimSearchDoc(c *Claim) SearchDoc {
	return SearchDoc{Kind: SearchClaim, ID: strconv.FormatInt(c.ID, 10), Task: c.Task, Text: c.Text}
}

// HandoffSearchDoc is a session's handoff; its Text is empty when the
// session left none.
func HandoffSearchDoc(s *Session) SearchDoc {
	return SearchDoc{Kind: SearchHandoff, ID: s.ID, Task: s.Task, Text: s.Handoff}
}

func joinNonEmpty(parts []string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n")
}

// SearchTerms splits text into the lower-case words search matches: runs
// of letters and digits. Stores match only these words, never query
// syntax, so no text given to search is read as an operator.
func SearchTerms(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}
