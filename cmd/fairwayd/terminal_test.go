package main

import (
	"strings"
	"testing"
)

func TestVisible_ShowsControlCharactersAsEscapes(t *testing.T) {
	cases := []struct {
		in, multi, single string
	}{
		{"plain", "plain", "plain"},
		{"Zürich ✓ \uFFFD", "Zürich ✓ \uFFFD", "Zürich ✓ \uFFFD"},
		{"osc52 \x1b]52;c;aGVsbG8=\x07", `osc52 \x1b]52;c;aGVsbG8=\x07`, `osc52 \x1b]52;c;aGVsbG8=\x07`},
		{"cls \x1b[2J\x1b[H", `cls \x1b[2J\x1b[H`, `cls \x1b[2J\x1b[H`},
		{"a\tb\nc", "a\tb\nc", `a\x09b\x0ac`},
		{"nul\x00 del\x7f", `nul\x00 del\x7f`, `nul\x00 del\x7f`},
		{"c1 \u009b2J", `c1 \x9b2J`, `c1 \x9b2J`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`, `bad \xff\xfe utf8`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`, `bidi \u202egnp.exe`},
		{"cr\roverwrite", `cr\x0doverwrite`, `cr\x0doverwrite`},
	}
	for _, c := range cases {
		if got := visible(c.in, true); got != c.multi {
			t.Errorf("visible(%q, multiline) = %q, want %q", c.in, got, c.multi)
		}
		if got := oneLine(c.in); got != c.single {
			t.Errorf("oneLine(%q) = %q, want %q", c.in, got, c.single)
		}
	}
}

// TestCLI_TerminalNeverGetsControlSequences feeds an OSC 52 clipboard
// write and a CSI clear-screen through task titles and claims: the
// terminal sees them spelled out, or the input is refused naming the
// field; never the raw sequence.
func TestCLI_TerminalNeverGetsControlSequences(t *testing.T) {
	const osc52, clear = "\x1b]52;c;aGVsbG8=\x07", "\x1b[2J"
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		steps := []struct {
			as    string
			args  []string
			field string // the field named if the input is refused
			shown string // what stdout must hold otherwise
			needs int    // the step whose write this one shows (-1: none)
		}{
			{"alice", []string{"task", "create", "ESC-1", "--title", "copy" + osc52 + " then" + clear}, "title", "created ESC-1\n", -1},
			{"alice", []string{"task", "list"}, "", `copy\x1b]52;c;aGVsbG8=\x07 then\x1b[2J`, 0},
			{"alice", []string{"task", "show", "ESC-1"}, "", `ESC-1  copy\x1b]52;c;aGVsbG8=\x07 then\x1b[2J`, 0},
			{"codex", []string{"claim", "--task", "ESC-1", "done" + clear}, "text", "claim 1 recorded", 0},
			{"codex", []string{"claim", "list", "ESC-1"}, "", `claims: done\x1b[2J`, 3},
			{"alice", []string{"task", "show", "NOPE-1" + clear}, "", "", -1},
		}
		refused := map[int]bool{}
		for i, s := range steps {
			if s.needs >= 0 && refused[s.needs] {
				refused[i] = true
				continue
			}
			out, errOut, code := e.run(s.as, s.args...)
			if strings.ContainsAny(out+errOut, "\x1b\x07") {
				t.Fatalf("local=%v %q: raw control characters reached the terminal: %q %q", local, s.args, out, errOut)
			}
			switch {
			case s.field != "" && code == exitUsage && strings.HasPrefix(errOut, "fairway: "+s.field+": "):
				refused[i] = true // refused naming the field: also sound
			case s.shown != "" && !strings.Contains(out, s.shown):
				t.Fatalf("local=%v %q: exit %d, stdout %q, stderr %q; want it to show %q", local, s.args, code, out, errOut, s.shown)
			}
		}
	}
}
