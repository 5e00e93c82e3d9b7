package secret

import (
	"bytes"
	"fmt"
	"io"
	"math"
	mathbits "math/bits"
	"strconv"
	"strings"
)

// Finding is one secret found: the rule and where, never the value.
type Finding struct {
	Rule   string `json:"rule"`
	Line   int64  `json:"line"`
	Column int    `json:"column"`
	// Offset is the byte offset of the secret in the scanned stream.
	// Length may run over several lines: a private key block is one
	// finding from its BEGIN to its END marker.
	Offset int64 `json:"offset"`
	Length int   `json:"length"`
	// Arg is the index in argv of the argument holding the secret; only
	// RedactArgs sets it.
	Arg int `json:"arg,omitempty"`
}

// String describes the finding for people.
func (f Finding) String() string {
	return fmt.Sprintf("%s at line %d, column %d", f.Rule, f.Line, f.Column)
}

// MaxLine bounds how much of one line is held in memory. A longer line is
// scanned in MaxLine pieces that overlap by Overlap bytes, so a secret is
// still found where a piece ends.
const (
	MaxLine = 1 << 20
	Overlap = 4096
)

// MaxFindings caps the findings kept per stream; a stream full of
// secrets is refused or redacted on the first ones as well as the last.
const MaxFindings = 1000

// maxKeyLines bounds a private key block that never reaches its END line;
// the longest PGP keys with subkeys stay well within it.
const maxKeyLines = 4096

// Scanner finds secrets in a byte stream written to it in chunks of any
// size. Lines are reassembled across chunks, so a secret split between two
// writes is found. When Out is set, the stream is copied to it with every
// secret replaced by "[REDACTED:rule]"; a private key block is replaced
// whole, its BEGIN line to its END line.
//
// Every byte is scanned, whatever the stream starts with: a media type
// header never switches the scan off.
type Scanner struct {
	Out io.Writer

	pending  []byte    // start of a line not yet ended
	line     int64     // 1-based number of the line in pending
	offset   int64     // stream offset of pending[0]
	starts   []int     // line starts within the block being scanned
	masks    []ruleSet // per line: the rules whose keywords it holds
	colBase  int       // column offset of pending[0] within an over-long line
	findings []Finding
	dropped  int
	err      error

	// key is the private key block being read, line by line.
	key *keyBlock
	// Wrapped base64 (a mail attachment, base64 output, a certificate)
	// is not a column of secrets. b64Width is the width of the run being
	// read; held is a line of such a width, kept back until the next
	// line says whether a run starts there.
	b64Width int
	held     []byte
	heldMask ruleSet
	holding  bool
}

type keyBlock struct {
	idx   int    // index of its finding in findings, -1 when not kept
	start int64  // stream offset of the finding
	nl    []byte // line endings since the last key line, written if the block ends
	left  int    // lines left in a counted block, -1 for one ended by END
	lines int
}

// NewScanner returns a scanner; out may be nil for scanning only.
func NewScanner(out io.Writer) *Scanner { return &Scanner{Out: out, line: 1} }

// Write scans p.
func (s *Scanner) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	if len(s.pending) > 0 {
		// Finish the line begun by an earlier write.
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.pending = append(s.pending, p...)
			if len(s.pending) >= MaxLine {
				s.flushLong()
			}
			return n, s.err
		}
		s.pending = append(s.pending, p[:i+1]...)
		s.scanBlock(s.pending)
		s.pending = s.pending[:0]
		p = p[i+1:]
	}
	// Scan every complete line of p as one block; keep the rest.
	if last := bytes.LastIndexByte(p, '\n'); last >= 0 {
		s.scanBlock(p[:last+1])
		p = p[last+1:]
	}
	s.pending = append(s.pending, p...)
	if len(s.pending) >= MaxLine {
		s.flushLong()
	}
	return n, s.err
}

// scanBlock scans whole lines at once. Ordinary text costs a couple of
// table lookups per byte; only lines holding a keyword meet the rule's
// pattern.
func (s *Scanner) scanBlock(block []byte) {
	s.starts = s.starts[:0]
	s.masks = s.masks[:0]
	// Line starts first (IndexByte is vectorised), then one keyword
	// pass per line for the rules whose keywords it holds.
	for i := 0; i < len(block); {
		s.starts = append(s.starts, i)
		j := bytes.IndexByte(block[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	for li, start := range s.starts {
		end := len(block)
		if li+1 < len(s.starts) {
			end = s.starts[li+1]
		}
		s.masks = append(s.masks, pairs().scan(block[start:end]))
	}
	for li, start := range s.starts {
		end := len(block)
		if li+1 < len(s.starts) {
			end = s.starts[li+1]
		}
		s.feed(block[start:end], s.masks[li])
	}
}

// feed takes one line (with its ending, if it has one) in stream order.
func (s *Scanner) feed(line []byte, mask ruleSet) {
	if s.key != nil && s.continueKey(line) {
		return
	}
	c := content(line)
	// Wrapped base64 has full lines and a last one whose length, like
	// that of all padded base64, is a multiple of four. The cheap tests
	// come first: this runs on every line.
	b64 := len(c)%4 == 0 && (s.b64Width > 0 || s.holding || wrapWidth(len(c))) && ended(line) && isBase64(c)
	if s.b64Width > 0 {
		if b64 && len(c) <= s.b64Width {
			if len(c) < s.b64Width {
				s.b64Width = 0 // the run's short last line
			}
			s.emit(line, mask, false)
			return
		}
		s.b64Width = 0
	}
	if s.holding {
		s.holding = false
		if w := len(content(s.held)); b64 && len(c) <= w {
			s.emit(s.held, s.heldMask, false)
			if len(c) == w {
				s.b64Width = w
			}
			s.emit(line, mask, false)
			return
		}
		s.emit(s.held, s.heldMask, true)
	}
	if b64 && wrapWidth(len(c)) {
		s.held = append(s.held[:0], line...)
		s.heldMask = mask
		s.holding = true
		return
	}
	s.emit(line, mask, true)
}

// settle ends what a line could still change: a held line is scanned as
// it stands and an open key block ends.
func (s *Scanner) settle() {
	if s.holding {
		s.holding = false
		s.emit(s.held, s.heldMask, true)
	}
	s.b64Width = 0
	if s.key != nil {
		s.put(s.key.nl)
		s.key = nil
	}
}

// emit scans one line, records and writes it, and opens a key block when
// the line begins a private key that continues on the next lines.
func (s *Scanner) emit(line []byte, mask ruleSet, entropy bool) {
	findings := s.findIn(line, mask, entropy)
	kept := len(s.findings)
	s.record(findings)
	kept = len(s.findings) - kept
	c := content(line)
	if n := len(findings); n > 0 && ended(line) {
		f := findings[n-1]
		start := f.Column - 1 - s.colBase
		if left := s.opensKey(line, f.Rule, start, start+f.Length); left != 0 {
			idx := -1
			if kept == n {
				idx = len(s.findings) - 1
			}
			s.key = &keyBlock{idx: idx, start: f.Offset, left: left, nl: append([]byte(nil), line[len(c):]...)}
			s.write(c, findings)
			s.advance(line)
			return
		}
	}
	s.write(line, findings)
	s.advance(line)
}

// opensKey says whether the finding at [start, end) of line begins a key
// that goes on past the line: it returns -1 for a PEM block, the number
// of lines for a PuTTY key's private lines, and 0 otherwise.
func (s *Scanner) opensKey(line []byte, rule string, start, end int) int {
	c := content(line)
	switch rule {
	case "private-key":
		if bytes.Contains(line[start:end], pemEnd) || len(bytes.Trim(c[min(end, len(c)):], " \t\r\"'`\\n")) > 0 {
			return 0
		}
		return -1
	case "putty-private-key":
		_, n, _ := bytes.Cut(c, []byte(":"))
		lines, err := strconv.Atoi(string(bytes.TrimSpace(n)))
		if err != nil || lines <= 0 {
			return 0
		}
		return lines
	}
	return 0
}

// continueKey takes the next line of an open key block, and reports false
// when the line is not key text: the block has ended before it.
func (s *Scanner) continueKey(line []byte) bool {
	k := s.key
	c := content(line)
	t := keyText(c)
	if k.left < 0 {
		if at := pemEndAt(c); at >= 0 {
			// The END line: the finding runs to its marker; what follows
			// on the line is scanned as usual.
			s.extendKey(s.offset + int64(at))
			s.key = nil
			s.offset += int64(at)
			s.colBase += at
			s.emit(line[at:], pairs().scan(line[at:]), true)
			return true
		}
	}
	switch {
	case k.lines >= maxKeyLines:
	case len(t) == 0 && k.left < 0:
		// A blank line inside a key (after its headers) is kept back:
		// if the block ends here, it is written as it was.
		k.nl = append(k.nl, line...)
		k.lines++
		s.advance(line)
		return true
	case isBase64(t) || k.left < 0 && keyHeader(t):
		k.lines++
		s.extendKey(s.offset + int64(len(c)))
		k.nl = append(k.nl[:0], line[len(c):]...)
		s.advance(line)
		if k.left > 0 {
			if k.left--; k.left == 0 {
				s.put(k.nl)
				s.key = nil
			}
		}
		return true
	}
	s.put(k.nl)
	s.key = nil
	return false
}

// extendKey makes the open key block's finding run to the stream offset
// end.
func (s *Scanner) extendKey(end int64) {
	if k := s.key; k.idx >= 0 {
		s.findings[k.idx].Length = int(end - k.start)
	}
}

// advance moves past a line that has been scanned and written.
func (s *Scanner) advance(line []byte) {
	s.offset += int64(len(line))
	if ended(line) {
		s.line++
		s.colBase = 0
	}
}

// flushLong scans the held part of an over-long line and keeps its tail
// as overlap for the next piece.
func (s *Scanner) flushLong() {
	s.settle()
	emit := len(s.pending) - Overlap
	findings := s.findLine(s.pending)
	// Report only findings that start in the part being let go; the rest
	// will be seen again with the next piece. A finding that starts there
	// and runs on is let go whole, so redaction never splits a secret.
	var now []Finding
	for _, f := range findings {
		start := f.Column - 1 - s.colBase
		if start < emit {
			now = append(now, f)
			emit = max(emit, start+f.Length)
		}
	}
	s.record(now)
	s.write(s.pending[:emit], now)
	s.offset += int64(emit)
	// Columns stay relative to the line start: shift what is kept.
	s.pending = append(s.pending[:0], s.pending[emit:]...)
	s.colBase += emit
}

// Close scans what is left of an unterminated last line.
func (s *Scanner) Close() error {
	if len(s.pending) > 0 {
		s.feed(s.pending, pairs().scan(s.pending))
		s.pending = s.pending[:0]
	}
	s.settle()
	return s.err
}

// Findings returns what was found so far.
func (s *Scanner) Findings() []Finding { return s.findings }

// Dropped reports how many findings were not kept past MaxFindings.
func (s *Scanner) Dropped() int { return s.dropped }

// findLine finds secrets in one line, checking keywords itself.
func (s *Scanner) findLine(line []byte) []Finding {
	return s.findIn(line, pairs().scan(line), true)
}

func (s *Scanner) record(fs []Finding) {
	for _, f := range fs {
		if len(s.findings) >= MaxFindings {
			s.dropped++
			continue
		}
		s.findings = append(s.findings, f)
	}
}

// write copies line to Out with findings masked.
func (s *Scanner) write(line []byte, findings []Finding) {
	if s.Out == nil || s.err != nil {
		return
	}
	pos := 0
	for _, f := range findings {
		start := f.Column - 1 - s.colBase
		end := start + f.Length
		if start < pos || end > len(line) {
			continue
		}
		s.put(line[pos:start])
		s.put([]byte("[REDACTED:" + f.Rule + "]"))
		pos = end
	}
	s.put(line[pos:])
}

func (s *Scanner) put(b []byte) {
	if s.Out != nil && s.err == nil && len(b) > 0 {
		_, s.err = s.Out.Write(b)
	}
}

// findIn returns the findings in one line, in column order, without
// overlaps, trying the rules whose bit is set in mask, and the entropy
// rule when entropy is set.
func (s *Scanner) findIn(line []byte, mask ruleSet, entropy bool) []Finding {
	var out []Finding
	add := func(rule string, start, end int) {
		for _, f := range out {
			fs := f.Column - 1 - s.colBase
			if start < fs+f.Length && fs < end {
				return
			}
		}
		out = append(out, Finding{Rule: rule, Line: s.line, Column: s.colBase + start + 1, Offset: s.offset + int64(start), Length: end - start})
	}
	for _, ri := range checked() {
		for _, span := range Rules[ri].Check(line) {
			add(Rules[ri].ID, span[0], span[1])
		}
	}
	patterns := compiled()
	// Only the rules whose keywords the line holds, in rule order.
	for w, bits := range mask {
		for ; bits != 0; bits &= bits - 1 {
			ri := w*64 + mathbits.TrailingZeros64(bits)
			r := Rules[ri]
			for _, m := range patterns[ri].FindAllSubmatchIndex(line, -1) {
				start, end := secretSpan(m, r.Group)
				if start < 0 {
					continue
				}
				switch r.ID {
				case "password-assignment":
					if placeholders[strings.ToLower(string(line[start:end]))] || looksLikeReference(line[start:end]) {
						continue
					}
				case "private-key":
					end = pemExtend(line, end)
				}
				add(r.ID, start, end)
			}
		}
	}
	if entropy {
		for _, span := range highEntropySpans(line) {
			add("high-entropy-string", span[0], span[1])
		}
	}
	sortFindings(out)
	return out
}

// secretSpan returns the part of match m that holds the secret.
func secretSpan(m []int, group int) (int, int) {
	if group != AnyGroup {
		return m[2*group], m[2*group+1]
	}
	for g := 1; 2*g < len(m); g++ {
		if m[2*g] >= 0 {
			return m[2*g], m[2*g+1]
		}
	}
	return m[0], m[1]
}

func sortFindings(fs []Finding) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Column < fs[j-1].Column; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// looksLikeReference is true for values that point at a secret rather
// than hold one, such as env.TOKEN or secrets.NAME.
func looksLikeReference(v []byte) bool {
	return bytes.HasPrefix(v, []byte("env.")) || bytes.HasPrefix(v, []byte("secrets.")) || bytes.HasPrefix(v, []byte("vault:"))
}

// Entropy thresholds for the generic rule. Only tokens that mix upper
// case, lower case and digits count: hex digests and commit ids, which
// evidence is full of, never do.
const (
	minEntropyLen = 32
	maxEntropyLen = 512
	minEntropy    = 4.3
)

var tokenByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '+' || b == '/' || b == '_' || b == '-' || b == '='
	}
	return t
}()

func isTokenByte(c byte) bool { return tokenByte[c] }

// digestLabels mark a token as a content digest, not a key: go.sum's
// "h1:" and the "sha512-" of subresource integrity (package-lock.json).
// The bytes of an inline image (data:image/png;base64,...) are no key
// either.
var digestLabels = []string{"h1:", "sha1-", "sha256-", "sha384-", "sha512-"}

func isDigest(line []byte, i, j int) bool {
	if inlineImage(line[:i]) {
		return true
	}
	for _, l := range digestLabels {
		if strings.HasSuffix(l, ":") {
			if i >= len(l) && string(line[i-len(l):i]) == l {
				return true
			}
		} else if bytes.HasPrefix(line[i:j], []byte(l)) {
			return true
		}
	}
	return false
}

// inlineImage reports whether before ends with the header of an inline
// image's bytes, as in data:image/png;base64, of a data URL.
func inlineImage(before []byte) bool {
	const tail = ";base64,"
	if !bytes.HasSuffix(before, []byte(tail)) {
		return false
	}
	at := bytes.LastIndex(before, []byte("data:image/"))
	if at < 0 {
		return false
	}
	// Only the media type and its parameters between the two.
	for _, c := range before[at+len("data:image/") : len(before)-len(tail)] {
		if !isAlnum(c) && !strings.ContainsRune("+.-;=_", rune(c)) {
			return false
		}
	}
	return true
}

// highEntropySpans returns [start, end) of tokens that look random enough
// to be keys.
func highEntropySpans(line []byte) [][2]int {
	var out [][2]int
	for i := 0; i < len(line); {
		if !isTokenByte(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isTokenByte(line[j]) {
			j++
		}
		if n := j - i; n >= minEntropyLen && n <= maxEntropyLen && !isDigest(line, i, j) {
			if random(line[i:j]) {
				out = append(out, [2]int{i, j})
			} else {
				// A path or URL whose words and numbers make the whole
				// read as ordinary may still hold a key as one of its
				// parts: each long enough part is judged alone.
				out = appendRandomParts(out, line, i, j)
			}
		}
		i = j
	}
	return out
}

// random reports whether token b looks like a generated key: it mixes
// upper case, lower case and digits, its bytes are spread widely enough,
// and it is not made of words and numbers.
func random(b []byte) bool {
	return mixed(b) && shannon(b) >= minEntropy && meanRun(b) < maxMeanRun
}

// appendRandomParts appends the parts of line[i:j] between slashes that
// are long enough and random on their own.
func appendRandomParts(out [][2]int, line []byte, i, j int) [][2]int {
	for k := i; k < j; {
		e := k + bytes.IndexByte(line[k:j], '/')
		if e < k {
			e = j
		}
		if e-k >= minEntropyLen && random(line[k:e]) {
			out = append(out, [2]int{k, e})
		}
		k = e + 1
	}
	return out
}

// maxMeanRun bounds the mean run length of a random token. Paths, URLs
// and identifiers (actions/runs/9120455731, TestSessionStart1234567890/001)
// are words and numbers, runs of five or more; a generated key changes
// case or turns to a digit every other byte or so. About one random
// base64 or alphanumeric key of 32 bytes in 1,600 reaches 3.5, one in
// 4,000 at 40 bytes, none of 200,000 at 64
// (TestScanText_RandomKeysAreStillFound).
const maxMeanRun = 3.5

// meanRun is the mean length of the runs b's letters and digits form: a
// run of digits, of lower case letters, of capitals, or a capital and the
// lower case letters after it (a word of an identifier). A run of hex
// digits of one case (a commit id in a URL) counts as one run. Other
// bytes separate runs.
func meanRun(b []byte) float64 {
	class := func(c byte) int {
		switch {
		case 'a' <= c && c <= 'z':
			return 1
		case 'A' <= c && c <= 'Z':
			return 2
		case '0' <= c && c <= '9':
			return 3
		}
		return 0
	}
	chars, runs := 0, 0
	for i := 0; i < len(b); {
		c := class(b[i])
		if c == 0 {
			i++
			continue
		}
		j := i + 1
		if h := hexRun(b[i:]); h >= minHexRun && (i == 0 || !isAlnum(b[i-1])) {
			j = i + h
		} else if p := onePart(b[i:]); p > 0 && (i == 0 || !isAlnum(b[i-1])) {
			j = i + p
		} else if c == 2 {
			for j < len(b) && class(b[j]) == 2 {
				j++
			}
			if j == i+1 {
				for j < len(b) && class(b[j]) == 1 {
					j++
				}
			}
		} else {
			for j < len(b) && class(b[j]) == c {
				j++
			}
		}
		chars += j - i
		runs++
		i = j
	}
	if runs == 0 {
		return 0
	}
	return float64(chars) / float64(runs)
}

// onePart returns the length of the part b starts with, up to the next
// byte that is no letter or digit, when that part is of one case (a pod
// name's suffix such as x2k4p, a temporary directory's name); 0 when it
// holds both cases.
func onePart(b []byte) int {
	var upper, lower bool
	n := 0
	for n < len(b) && isAlnum(b[n]) {
		upper = upper || 'A' <= b[n] && b[n] <= 'Z'
		lower = lower || 'a' <= b[n] && b[n] <= 'z'
		n++
	}
	if upper && lower {
		return 0
	}
	return n
}

// minHexRun is the shortest run of hex digits counted as one run: a
// short commit id. A random base64 key holds one by chance in about one
// in four thousand places.
const minHexRun = 7

// hexRun returns the length of the run of hex digits of one case that b
// starts with, when it ends b or a non-alphanumeric byte follows it; 0
// otherwise.
func hexRun(b []byte) int {
	lower, upper := 0, 0
	for lower < len(b) && ('0' <= b[lower] && b[lower] <= '9' || 'a' <= b[lower] && b[lower] <= 'f') {
		lower++
	}
	for upper < len(b) && ('0' <= b[upper] && b[upper] <= '9' || 'A' <= b[upper] && b[upper] <= 'F') {
		upper++
	}
	n := max(lower, upper)
	if n < len(b) && isAlnum(b[n]) {
		return 0
	}
	return n
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// mixed reports whether b holds upper case, lower case and digits.
func mixed(b []byte) bool {
	var upper, lower, digit bool
	for _, c := range b {
		upper = upper || 'A' <= c && c <= 'Z'
		lower = lower || 'a' <= c && c <= 'z'
		digit = digit || '0' <= c && c <= '9'
	}
	return upper && lower && digit
}

func shannon(b []byte) float64 {
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}
