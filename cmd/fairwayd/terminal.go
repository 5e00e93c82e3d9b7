package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text that users and agents wrote (titles, claims, names, reasons) must
// never reach a terminal raw: an ESC starts OSC and CSI sequences that
// retitle the window, clear the screen or write the clipboard. visible is
// the one place that decides how such text is shown.

// visible returns s with every control character made visible as a Go
// escape: C0 (except tab and newline when multiline), DEL, C1, Unicode
// bidirectional overrides, and bytes that are not UTF-8. Printable text
// is returned unchanged.
func visible(s string, multiline bool) string {
	clean := true
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") || hidden(r, multiline) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case hidden(r, multiline):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// oneLine is visible for a field printed on one line: a newline in it
// could otherwise forge a row of a table.
func oneLine(s string) string { return visible(s, false) }

func hidden(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidirectional overrides reorder what is shown
	}
	return false
}

// terminalWriter writes human output through visible, so no command can
// print a control sequence by forgetting to.
type terminalWriter struct{ w io.Writer }

func (t terminalWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(t.w, visible(string(p), true)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printHuman renders human output whole, then writes it made visible.
// Rendering first keeps a multi-byte character from being split across
// two writes.
func (a *app) printHuman(human func(w io.Writer)) {
	var buf bytes.Buffer
	human(&buf)
	terminalWriter{a.stdout}.Write(buf.Bytes())
}
