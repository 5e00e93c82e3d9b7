package check

// The builtin masks run on every check's output, so each has a matcher
// written out by hand that finds exactly what its regular expression in
// Builtins finds, as Go's regexp package finds it (leftmost-first, \d
// and \b over ASCII): the same matches, so the same digests, at a
// fraction of the cost. TestBuiltinMatchers_AgreeWithTheirExpressions
// and FuzzBuiltinMatchers hold them to their expressions.

// matchAt is a builtin's matcher: the end of its match starting at i in
// b, or -1 when none starts there.
type matchAt func(b []byte, i int) int

var builtinMatchers = map[string]matchAt{
	"timestamps": matchTimestamp,
	"durations":  matchDuration,
	"uuids":      matchUUID,
	"hex-ids":    matchHexID,
}

// starts are the bytes a builtin's match can start with, each paired
// with whether its match starts at a word boundary (\b): a position
// inside a run of word characters is then never a start.
type starts struct {
	first    *[256]bool
	boundary bool
}

var builtinStarts = map[string]starts{
	"timestamps": {table(isDigit), false},
	"durations":  {table(isDigit), true},
	"uuids":      {table(isHex), true},
	"hex-ids":    {table(isLowerHex), true},
}

// wordTable is isWord as a table.
var wordTable = table(isWord)

func table(f func(c byte) bool) *[256]bool {
	var t [256]bool
	for c := range t {
		t[c] = f(byte(c))
	}
	return &t
}

// replaceAll replaces every match of m in src, leftmost first and not
// overlapping, with as, as regexp.ReplaceAllLiteral does, trying m only
// where st says a match can start. It returns src itself when nothing
// matches.
func replaceAll(src []byte, m matchAt, st starts, as []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(src); {
		c := src[i]
		if !st.first[c] || st.boundary && i > 0 && wordTable[src[i-1]] {
			i++
			continue
		}
		end := m(src, i)
		if end < 0 {
			i++
			if st.boundary {
				// Nothing else in this run of word characters follows
				// a boundary.
				for i < len(src) && wordTable[src[i]] {
					i++
				}
			}
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(src))
		}
		out = append(out, src[last:i]...)
		out = append(out, as...)
		last, i = end, end
	}
	if out == nil {
		return src
	}
	return append(out, src[last:]...)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isLowerHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' }

// isWord is \b's word character: ASCII letters, digits and underscore.
// A byte of a multi-byte character is never one, as its character is not.
func isWord(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// boundaryBefore says whether \b holds before b[i], given b[i] is a word
// character.
func boundaryBefore(b []byte, i int) bool { return i == 0 || !isWord(b[i-1]) }

// boundaryAfter says whether \b holds at i, given b[i-1] is a word
// character.
func boundaryAfter(b []byte, i int) bool { return i == len(b) || !isWord(b[i]) }

// digits is the end of the run of at least n and at most max ASCII
// digits at i (max < 0: no limit), or -1.
func digits(b []byte, i, n, max int) int {
	j := i
	for j < len(b) && isDigit(b[j]) && (max < 0 || j-i < max) {
		j++
	}
	if j-i < n {
		return -1
	}
	return j
}

// fixed2 is the end of exactly two digits at i, or -1.
func fixed2(b []byte, i int) int {
	if i+2 <= len(b) && isDigit(b[i]) && isDigit(b[i+1]) {
		return i + 2
	}
	return -1
}

// matchTimestamp is
// \d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?
func matchTimestamp(b []byte, i int) int {
	// The fixed part: 19 bytes.
	if i+19 > len(b) {
		return -1
	}
	p := b[i : i+19]
	for _, k := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if !isDigit(p[k]) {
			return -1
		}
	}
	if p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ') || p[13] != ':' || p[16] != ':' {
		return -1
	}
	j := i + 19
	// (?:\.\d+)? greedy: taken when a digit follows the dot.
	if j+1 < len(b) && b[j] == '.' && isDigit(b[j+1]) {
		j = digits(b, j+1, 1, -1)
	}
	// (?:Z|[+-]\d{2}:?\d{2})? greedy: Z first, then the offset with the
	// colon, then without it.
	if j < len(b) {
		switch b[j] {
		case 'Z':
			return j + 1
		case '+', '-':
			if h := fixed2(b, j+1); h >= 0 {
				if h < len(b) && b[h] == ':' {
					if m := fixed2(b, h+1); m >= 0 {
						return m
					}
				}
				if m := fixed2(b, h); m >= 0 {
					return m
				}
			}
		}
	}
	return j
}

// durationUnits are the alternatives of the durations expression, in
// its order.
var durationUnits = [...]string{"ns", "us", "µs", "ms", "s", "m", "h"}

// matchDuration is \b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)\b. Only the
// longest run of digits can be followed by a unit or a dot, so the
// expression's backtracking never finds a shorter one.
func matchDuration(b []byte, i int) int {
	if !isDigit(b[i]) || !boundaryBefore(b, i) {
		return -1
	}
	j := digits(b, i, 1, -1)
	if j+1 < len(b) && b[j] == '.' && isDigit(b[j+1]) {
		j = digits(b, j+1, 1, -1)
	}
	for _, u := range durationUnits {
		if end := j + len(u); end <= len(b) && string(b[j:end]) == u && boundaryAfter(b, end) {
			return end
		}
	}
	return -1
}

// matchUUID is
// \b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b
func matchUUID(b []byte, i int) int {
	if i+36 > len(b) || !isHex(b[i]) || !boundaryBefore(b, i) {
		return -1
	}
	p := b[i : i+36]
	for k, c := range p {
		switch k {
		case 8, 13, 18, 23:
			if c != '-' {
				return -1
			}
		default:
			if !isHex(c) {
				return -1
			}
		}
	}
	if !boundaryAfter(b, i+36) {
		return -1
	}
	return i + 36
}

// matchHexID is \b[0-9a-f]{16,64}\b: a shorter run than the whole one is
// followed by a hex digit, a word character, so only the whole run of
// 16 to 64 can end at a boundary.
func matchHexID(b []byte, i int) int {
	if !isLowerHex(b[i]) || !boundaryBefore(b, i) {
		return -1
	}
	j := i
	for j < len(b) && isLowerHex(b[j]) {
		j++
	}
	if n := j - i; n < 16 || n > 64 || !boundaryAfter(b, j) {
		return -1
	}
	return j
}
