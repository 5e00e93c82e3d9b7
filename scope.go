package fairway

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Scope record kinds: a check of a change against the task's scope, and
// a human's acknowledgement of paths changed outside it.
const (
	ScopeChecked      = "check"
	ScopeAcknowledged = "acknowledge"
)

// ScopeCheck is the input of a scope check: the paths a change touched
// (git diff --name-only BASE, and untracked files) in the work tree of a
// task, from base.
type ScopeCheck struct {
	Task    string   `json:"task"`
	Session string   `json:"session,omitempty"`
	Base    string   `json:"base,omitempty"`
	Paths   []string `json:"paths"`
	// Note says where the paths came from when Fairway did not diff the
	// work tree itself (an agent's report over MCP).
	Note string `json:"note,omitempty"`
}

// ScopeAcknowledge is a human owner's acknowledgement of paths changed
// outside a task's declared scope.
type ScopeAcknowledge struct {
	Task  string   `json:"task"`
	Paths []string `json:"paths"`
	Note  string   `json:"note,omitempty"`
}

// ScopeRecord is one audited scope fact on a task: a check (the paths
// changed, those outside the declared scope, and the layers owning each)
// or an acknowledgement of outside paths. Records are never updated.
type ScopeRecord struct {
	ID      int64  `json:"id"`
	Task    string `json:"task"`
	Kind    string `json:"kind"`
	Session string `json:"session,omitempty"`
	Base    string `json:"base,omitempty"`
	// Paths are the changed paths of a check, or the paths acknowledged.
	Paths []string `json:"paths"`
	// Outside are the changed paths no glob of the task's scope covers.
	Outside []string `json:"outside,omitempty"`
	// Layers maps each layer owning a changed path to those paths.
	Layers map[string][]string `json:"layers,omitempty"`
	// Domains are the review domains the check added to the gate.
	Domains []string  `json:"domains,omitempty"`
	Note    string    `json:"note,omitempty"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// Columns encodes the record's list and map columns for a store.
func (r *ScopeRecord) Columns() (paths, outside, layers, domains string, err error) {
	enc := func(v any) string {
		if err != nil {
			return ""
		}
		var b []byte
		b, err = json.Marshal(v)
		return string(b)
	}
	return enc(nonNil(r.Paths)), enc(nonNil(r.Outside)), enc(nonNilMap(r.Layers)), enc(nonNil(r.Domains)), err
}

// DecodeColumns fills a record's list and map columns from a store.
func (r *ScopeRecord) DecodeColumns(paths, outside, layers, domains string) error {
	if err := DecodeJSONColumns(paths, &r.Paths, outside, &r.Outside, layers, &r.Layers, domains, &r.Domains); err != nil {
		return err
	}
	if len(r.Outside) == 0 {
		r.Outside = nil
	}
	if len(r.Layers) == 0 {
		r.Layers = nil
	}
	if len(r.Domains) == 0 {
		r.Domains = nil
	}
	return nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func nonNilMap(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

// MaxScopePaths bounds the paths of one check or acknowledgement.
const MaxScopePaths = 10000

// Validate checks a scope check's input.
func (c ScopeCheck) Validate() error {
	if err := ValidateKey("task", c.Task); err != nil {
		return err
	}
	if c.Session != "" {
		if err := ValidateSessionID("session", c.Session); err != nil {
			return err
		}
	}
	if err := CheckText("base", c.Base, 64); err != nil {
		return err
	}
	if err := CheckText("note", c.Note, 2000); err != nil {
		return err
	}
	return validatePaths("paths", c.Paths, true)
}

// Validate checks an acknowledgement's input.
func (a ScopeAcknowledge) Validate() error {
	if err := ValidateKey("task", a.Task); err != nil {
		return err
	}
	if len(a.Paths) == 0 {
		return FieldError("paths", "name the paths to acknowledge, e.g. --paths services/billing/api.go")
	}
	if err := CheckText("note", a.Note, 2000); err != nil {
		return err
	}
	return validatePaths("paths", a.Paths, false)
}

func validatePaths(field string, paths []string, emptyOK bool) error {
	if len(paths) > MaxScopePaths {
		return FieldError(field, "has %d paths, more than %d", len(paths), MaxScopePaths)
	}
	for _, p := range paths {
		if p == "" || len(p) > 4096 {
			return FieldError(field, "a path is empty or longer than 4096 bytes")
		}
		if err := CheckText(field, p, 4096); err != nil {
			return err
		}
		// A repository path as git lists it: "a/../b" would match one
		// glob and be another file.
		for el := range strings.SplitSeq(p, "/") {
			if el == "" || el == "." || el == ".." {
				return FieldError(field, "%q is not a repository path as git lists it (no leading, trailing or doubled slash, no . or .. element)", clip(p))
			}
		}
	}
	return nil
}

// ScopeService checks a change against its task's scope.
type ScopeService interface {
	// CheckScope records which layers and domains a change touches (added
	// to the task's gate) and which paths lie outside its declared scope
	// (a requirement a human owner acknowledges).
	CheckScope(ctx context.Context, c ScopeCheck) (*ScopeRecord, error)
	// AcknowledgeScope records a human's acknowledgement of outside paths.
	AcknowledgeScope(ctx context.Context, a ScopeAcknowledge) (*ScopeRecord, error)
	// ScopeRecords lists a task's scope checks and acknowledgements,
	// oldest first.
	ScopeRecords(ctx context.Context, task string) ([]*ScopeRecord, error)
}

// ScopeTx stores scope records.
type ScopeTx interface {
	// InsertScopeRecord stores a record and sets its ID.
	InsertScopeRecord(r *ScopeRecord) error
	// ScopeRecords lists a task's records, oldest first.
	ScopeRecords(task string) ([]*ScopeRecord, error)
}
