package fairway_test

import (
	"testing"
	"time"

	"fairway"
)

// In local mode the service gets the bytes as they are: an argument
// that is not UTF-8, or a NUL in the working dir, is refused with its
// field, as over the API.
func TestEvidenceAdd_ChecksCommandText(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, field string
		cmd         fairway.Command
	}{
		{"argv not UTF-8", "command.argv[1]", fairway.Command{Argv: []string{"cat", "\xff\xfe"}, Dir: "/src", Started: at, Ended: at}},
		{"dir with NUL", "command.dir", fairway.Command{Argv: []string{"true"}, Dir: "/src\x00/x", Started: at, Ended: at}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := fairway.EvidenceAdd{Task: "OPS-1", Kind: fairway.EvidenceCommandResult, Command: &c.cmd}
			err := a.Validate()
			if fe, _ := err.(*fairway.Error); fe == nil || fe.Code != fairway.EINVALID || fe.Field != c.field {
				t.Fatalf("Validate = %v, want invalid %s", err, c.field)
			}
		})
	}
}
