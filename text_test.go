package fairway_test

import (
	"errors"
	"strings"
	"testing"

	"fairway"
)

// Text that reaches terminals and the audit log: NUL, invalid UTF-8 and
// control sequences are refused with the field named; ordinary text,
// including non-ASCII, passes.
func TestCheckText_RefusesWhatCanRewriteATerminal(t *testing.T) {
	cases := []struct {
		name, in string
		multi    bool
		want     string // "" passes
	}{
		{"plain", "Rotate the edge tunnel", false, ""},
		{"non-ASCII", "Überprüfung der Kapazität — 完了", false, ""},
		{"multi-line claim", "tests pass\n\tall 12", true, ""},
		{"NUL", "a\x00b", true, "title: holds the control character NUL (U+0000) at byte 1"},
		{"invalid UTF-8", "a\xffb", true, "title: is not valid UTF-8 text"},
		{"OSC 52 clipboard write", "x\x1b]52;c;ZWNobyBoaQ==\x07", true, "title: holds the control character ESC (U+001B) at byte 1"},
		{"CSI clear screen", "\x1b[2J\x1b[H", true, "title: holds the control character ESC (U+001B) at byte 0"},
		{"C1 CSI", "a\u009b2J", true, "title: holds the control character U+009B at byte 1"},
		{"bidi override", "a\u202eb", true, "title: holds the control character U+202E at byte 1"},
		{"bidi mark", "a\u200fb", true, "title: holds the control character U+200F at byte 1"},
		{"arabic letter mark", "a\u061cb", true, "title: holds the control character U+061C at byte 1"},
		{"tag characters spelling hidden text", "done\U000e0069\U000e0067\U000e006e", true, "title: holds the invisible character U+E0069 at byte 4"},
		{"interlinear annotation", "a\ufff9b\ufffac\ufffb", true, "title: holds the invisible character U+FFF9 at byte 1"},
		{"emoji with a joiner", "ship it \U0001f468\u200d\U0001f4bb", true, ""},
		{"newline in a one-line field", "a\nb", false, "title: must be one line: it holds a newline at byte 1"},
		{"too long", strings.Repeat("x", 11), false, "title: is longer than 10 characters"},
	}
	for _, c := range cases {
		check := fairway.CheckLine
		if c.multi {
			check = fairway.CheckText
		}
		max := 1000
		if c.name == "too long" {
			max = 10
		}
		err := check("title", c.in, max)
		got := ""
		if err != nil {
			got = err.Error()
			if fairway.ErrorCode(err) != fairway.EINVALID {
				t.Errorf("%s: code %s, want invalid", c.name, fairway.ErrorCode(err))
			}
		}
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func asError(err error, target **fairway.Error) bool { return errors.As(err, target) }

// Every free-text field of a task create goes through the check.
func TestTaskCreate_RefusesControlCharactersInEveryTextField(t *testing.T) {
	bad := "x\x1b]0;pwned\x07"
	cases := map[string]fairway.TaskCreate{
		"title":          {Key: "A-1", Title: bad},
		"scope.text":     {Key: "A-1", Title: "t", Scope: fairway.Scope{Text: bad}},
		"scope.surfaces": {Key: "A-1", Title: "t", Scope: fairway.Scope{Surfaces: []string{bad}}},
	}
	for field, c := range cases {
		err := c.Validate()
		var fe *fairway.Error
		if err == nil || !asError(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want a refusal naming %s", field, err, field)
		}
	}
	claim := fairway.ClaimAdd{Task: "A-1", Text: "done\x1b[2J"}
	if err := claim.Validate(); err == nil || !strings.HasPrefix(err.Error(), "text: holds the control character ESC") {
		t.Errorf("claim: %v", err)
	}
}
