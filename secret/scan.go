package secret

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
)

// Finding is one secret found: the rule and where, never the value.
type Finding struct {
	Rule   string `json:"rule"`
	Line   int64  `json:"line"`
	Column int    `json:"column"`
	// Offset is the byte offset of the secret in the scanned stream.
	Offset int64 `json:"offset"`
	Length int   `json:"length"`
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

// Scanner finds secrets in a byte stream written to it in chunks of any
// size. Lines are reassembled across chunks, so a secret split between two
// writes is found. When Out is set, the stream is copied to it with every
// secret replaced by "[REDACTED:rule]".
type Scanner struct {
	Out io.Writer

	pending  []byte   // start of a line not yet ended
	line     int64    // 1-based number of the line in pending
	offset   int64    // stream offset of pending[0]
	starts   []int    // line starts within the block being scanned
	masks    []uint32 // per line: the rules whose keywords it holds
	colBase  int      // column offset of pending[0] within an over-long line
	findings []Finding
	dropped  int
	err      error
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
		line := block[start:end]
		findings := s.findIn(line, s.masks[li])
		s.record(findings)
		s.write(line, findings, 0)
		s.offset += int64(len(line))
		if line[len(line)-1] == '\n' {
			s.line++
			s.colBase = 0
		}
	}
}

// flushLong scans the held part of an over-long line and keeps its tail
// as overlap for the next piece.
func (s *Scanner) flushLong() {
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
	s.write(s.pending[:emit], now, 0)
	s.offset += int64(emit)
	// Columns stay relative to the line start: shift what is kept.
	s.pending = append(s.pending[:0], s.pending[emit:]...)
	s.colBase += emit
}

// Close scans what is left of an unterminated last line.
func (s *Scanner) Close() error {
	if len(s.pending) > 0 {
		s.scanLine(s.pending, false)
		s.pending = s.pending[:0]
	}
	return s.err
}

// Findings returns what was found so far.
func (s *Scanner) Findings() []Finding { return s.findings }

// Dropped reports how many findings were not kept past MaxFindings.
func (s *Scanner) Dropped() int { return s.dropped }

func (s *Scanner) scanLine(line []byte, ended bool) {
	findings := s.findLine(line)
	s.record(findings)
	s.write(line, findings, 0)
	s.offset += int64(len(line))
	if ended {
		s.line++
		s.colBase = 0
	}
}

// findLine finds secrets in one line, checking keywords itself.
func (s *Scanner) findLine(line []byte) []Finding {
	return s.findIn(line, pairs().scan(line))
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
func (s *Scanner) write(line []byte, findings []Finding, _ int) {
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
	if s.err == nil && len(b) > 0 {
		_, s.err = s.Out.Write(b)
	}
}

// findIn returns the findings in one line, in column order, without
// overlaps, trying the rules whose bit is set in mask.
func (s *Scanner) findIn(line []byte, mask uint32) []Finding {
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
	patterns := compiled()
	for ri, r := range Rules {
		if mask&(1<<ri) == 0 {
			continue
		}
		for _, m := range patterns[ri].FindAllSubmatchIndex(line, -1) {
			start, end := m[2*r.Group], m[2*r.Group+1]
			if start < 0 {
				continue
			}
			if r.ID == "password-assignment" && (placeholders[strings.ToLower(string(line[start:end]))] || looksLikeReference(line[start:end])) {
				continue
			}
			add(r.ID, start, end)
		}
	}
	for _, span := range highEntropySpans(line) {
		add("high-entropy-string", span[0], span[1])
	}
	sortFindings(out)
	return out
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
		if n := j - i; n >= minEntropyLen && n <= maxEntropyLen && mixed(line[i:j]) && shannon(line[i:j]) >= minEntropy {
			out = append(out, [2]int{i, j})
		}
		i = j
	}
	return out
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
