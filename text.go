package fairway

import (
	"unicode"
	"unicode/utf8"
)

// CheckText refuses free text that cannot be stored and shown safely:
// longer than max bytes, invalid UTF-8, NUL, or any control character
// other than newline and tab, which covers the terminal's escape, OSC and
// CSI sequences (retitling a window, clearing a screen, writing the
// clipboard). Text ends up in terminals, pages and an audit log that can
// never be edited, so it is refused rather than cleaned.
func CheckText(field, s string, max int) error {
	return checkText(field, s, max, true)
}

// CheckLine is CheckText for one-line text: no newline or tab either.
func CheckLine(field, s string, max int) error {
	return checkText(field, s, max, false)
}

func checkText(field, s string, max int, multiline bool) error {
	if max > 0 && len(s) > max {
		return FieldError(field, "is longer than %d characters", max)
	}
	if !utf8.ValidString(s) {
		return FieldError(field, "is not valid UTF-8 text")
	}
	for i, r := range s {
		if r == '\n' || r == '\t' {
			if multiline {
				continue
			}
			return FieldError(field, "must be one line: it holds a %s at byte %d", controlName(r), i)
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return FieldError(field, "holds the control character %s at byte %d; remove it (control characters can rewrite a reader's terminal)", controlName(r), i)
		}
		if invisible(r) {
			return FieldError(field, "holds the invisible character %s at byte %d; remove it (invisible text is read by an agent but hidden from the people reviewing it)", controlName(r), i)
		}
	}
	return nil
}

// invisible reports characters that show nothing yet carry text: the
// tag characters (a whole hidden sentence can be spelled in them, and a
// language model reads it) and the interlinear annotation marks.
func invisible(r rune) bool {
	return r >= 0xe0000 && r <= 0xe007f || r >= 0xfff9 && r <= 0xfffb
}

func controlName(r rune) string {
	switch r {
	case 0:
		return "NUL (U+0000)"
	case '\n':
		return "newline"
	case '\t':
		return "tab"
	case 0x1b:
		return "ESC (U+001B)"
	case 0x7f:
		return "DEL (U+007F)"
	}
	return "U+" + hex4(r)
}

func hex4(r rune) string {
	const digits = "0123456789ABCDEF"
	b := []byte{digits[r>>12&0xf], digits[r>>8&0xf], digits[r>>4&0xf], digits[r&0xf]}
	for r >>= 16; r > 0; r >>= 4 {
		b = append([]byte{digits[r&0xf]}, b...)
	}
	return string(b)
}
