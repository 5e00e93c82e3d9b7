package fairway

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// FieldNamedTwice returns the path of the first field an object of body
// names twice, or "". The decoder would keep the last of the two (and
// matches names whatever their case), while a log, a proxy or a person
// reading the body may take the first: a request must mean one thing.
// A body that is not well-formed JSON up to that field returns "", for
// the decoder to name.
//
// It runs on every API and MCP write, so it scans the bytes once without
// building tokens: a json.Decoder walk cost more than decoding the body.
func FieldNamedTwice(body []byte) string {
	s := fieldScanner{b: body}
	dup, _ := s.value(nil, 0)
	return dup
}

// maxFieldDepth bounds nesting, as the decoder's own limit does.
const maxFieldDepth = 10000

type fieldScanner struct {
	b []byte
	i int
}

func (s *fieldScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; ok is false at the first syntax error.
func (s *fieldScanner) value(path *fieldPath, depth int) (dup string, ok bool) {
	if depth > maxFieldDepth {
		return "", false
	}
	s.space()
	if s.i >= len(s.b) {
		return "", false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(path, depth)
	case c == '[':
		s.i++
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return "", true
		}
		elem := &fieldPath{parent: path}
		for {
			if dup, ok := s.value(elem, depth+1); dup != "" || !ok {
				return dup, ok
			}
			if more, ok := s.separator(']'); !more {
				return "", ok
			}
		}
	case c == '"':
		_, ok := s.str()
		return "", ok
	case c == 't':
		return "", s.literal("true")
	case c == 'f':
		return "", s.literal("false")
	case c == 'n':
		return "", s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return "", s.number()
	}
	return "", false
}

func (s *fieldScanner) object(path *fieldPath, depth int) (string, bool) {
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return "", true
	}
	var seen nameSet
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return "", false
		}
		raw, ok := s.str()
		if !ok {
			return "", false
		}
		here := &fieldPath{parent: path, raw: raw}
		if !seen.add(foldedName(raw)) {
			return here.String(), true
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return "", false
		}
		s.i++
		if dup, ok := s.value(here, depth+1); dup != "" || !ok {
			return dup, ok
		}
		if more, ok := s.separator('}'); !more {
			return "", ok
		}
	}
}

// nameSet holds an object's folded names. Objects are small: a slice
// beats a map up to 16 names; past them a map keeps an object of many
// fields from costing a comparison per pair.
type nameSet struct {
	few  [16][]byte
	n    int
	many map[string]struct{}
}

// add adds name and says whether it was new.
func (s *nameSet) add(name []byte) bool {
	if s.many != nil {
		if _, dup := s.many[string(name)]; dup {
			return false
		}
		s.many[string(name)] = struct{}{}
		return true
	}
	for _, k := range s.few[:s.n] {
		if bytes.Equal(k, name) {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = name
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, k := range s.few {
		s.many[string(k)] = struct{}{}
	}
	s.many[string(name)] = struct{}{}
	return true
}

// fieldPath is where a value sits, spelled out only for a field named
// twice: a field's quoted name, or an array's element when raw is nil.
type fieldPath struct {
	parent *fieldPath
	raw    []byte
}

func (p *fieldPath) String() string {
	if p == nil {
		return ""
	}
	parent := p.parent.String()
	if p.raw == nil {
		return parent + "[]"
	}
	if parent == "" {
		return fieldName(p.raw)
	}
	return parent + "." + fieldName(p.raw)
}

// fieldName returns a quoted name as the decoder reads it.
func fieldName(raw []byte) string {
	var name string
	if json.Unmarshal(raw, &name) != nil {
		// str accepted it, so the decoder does too; keep the bytes.
		return string(raw[1 : len(raw)-1])
	}
	return name
}

// foldedName returns a quoted name as the decoder reads it, lower-cased
// for comparison; a plain lower-case ASCII name is its own bytes.
func foldedName(raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	upper := false
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			return []byte(strings.ToLower(fieldName(raw)))
		}
		upper = upper || c >= 'A' && c <= 'Z'
	}
	if upper {
		// Plain ASCII: lower-cased as strings.ToLower would, without
		// decoding the name first.
		return bytes.ToLower(inner)
	}
	return inner
}

// separator scans what follows a member or element: a comma (more), or
// the container's close (ok, no more); anything else is a syntax error.
func (s *fieldScanner) separator(close byte) (more, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true, true
	case close:
		s.i++
		return false, true
	}
	return false, false
}

// str scans a string and returns it with its quotes.
func (s *fieldScanner) str() ([]byte, bool) {
	start := s.i
	s.i++ // "
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return nil, false
					}
				}
				s.i += 6
			default:
				return nil, false
			}
		case c < 0x20:
			return nil, false
		default:
			s.i++
		}
	}
	return nil, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *fieldScanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return s.delimited()
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *fieldScanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return s.delimited()
}

func (s *fieldScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// delimited says a literal or number ends where it should: a letter or
// digit run on ("truex", "01") is a syntax error.
func (s *fieldScanner) delimited() bool {
	if s.i >= len(s.b) {
		return true
	}
	switch s.b[s.i] {
	case ' ', '\t', '\n', '\r', ',', ']', '}':
		return true
	}
	return false
}

// TextChangedByDecoding returns the byte offset of the first text in body
// that decoding would not keep as sent, or -1: bytes that are not UTF-8,
// and a \u escape of half a surrogate pair, which the decoder silently
// turns into U+FFFD. A request must mean what it says, so such a body is
// refused rather than stored changed.
func TextChangedByDecoding(body []byte) int {
	if !utf8.Valid(body) {
		for i := 0; i < len(body); {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				return i
			}
			i += n
		}
	}
	// A backslash is only valid JSON inside a string, where escapes read
	// left to right: "\\" is one, so the byte after it starts anew.
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		if body[i+1] != 'u' {
			i++
			continue
		}
		c, ok := jsonHex4(body, i+2)
		switch {
		case !ok:
			return -1 // not JSON: the decoder names it
		case c >= 0xD800 && c < 0xDC00:
			if low, ok := jsonHex4(body, i+8); ok && body[i+6] == '\\' && body[i+7] == 'u' && low >= 0xDC00 && low <= 0xDFFF {
				i += 11
				continue
			}
			return i
		case c >= 0xDC00 && c <= 0xDFFF:
			return i
		}
		i += 5
	}
	return -1
}

// jsonHex4 reads the four hex digits at body[i:], if there are four.
func jsonHex4(body []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(body) {
		return 0, false
	}
	var c rune
	for _, h := range body[i : i+4] {
		switch {
		case h >= '0' && h <= '9':
			c = c<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			c = c<<4 | rune(h-'a'+10)
		case h >= 'A' && h <= 'F':
			c = c<<4 | rune(h-'A'+10)
		default:
			return 0, false
		}
	}
	return c, true
}
