package report

import (
	"encoding/json"
	"io"

	"fairway"
)

// CIRun summarises a watched CI run's terminal record — the JSON that
// webhooks and `fairway monitor record` write as ci-terminal evidence —
// by its conclusion; nil when it names none.
func CIRun(r io.Reader) (*fairway.Summary, error) {
	var v struct {
		Conclusion string `json:"conclusion"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&v); err != nil || v.Conclusion == "" {
		return nil, nil
	}
	return &fairway.Summary{Format: "ci-run", Conclusion: v.Conclusion}, nil
}
