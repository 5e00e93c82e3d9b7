package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Probe is an HTTP check: a request, and what its response must show.
type Probe struct {
	Method string `yaml:"method"`
	// URL and header values may name process environment variables as
	// ${NAME}, so one suite runs against every environment and a token
	// never sits in the suite (nor in the evidence: header values are
	// not recorded).
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	// Status is the expected response status; 200 when zero.
	Status int `yaml:"status"`
	// Body is a regular expression the response body must match.
	Body string `yaml:"body"`

	body *regexp.Regexp
}

// MaxBody bounds the response body a probe reads and records.
const MaxBody = 1 << 20

var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// check validates the probe, returning "field: reason" problems.
func (p *Probe) check() []string {
	var errs []string
	if p.Method == "" {
		p.Method = http.MethodGet
	}
	if !slices.Contains(methods, p.Method) {
		errs = append(errs, fmt.Sprintf("method: %q is not an HTTP method: use one of %s", p.Method, strings.Join(methods, ", ")))
	}
	if p.URL == "" {
		errs = append(errs, "url: is required, e.g. ${BASE_URL}/healthz")
	} else if u, err := url.Parse(os.Expand(p.URL, func(string) string { return "x" })); err != nil || (u.Scheme != "http" && u.Scheme != "https" && !strings.HasPrefix(p.URL, "$")) {
		errs = append(errs, fmt.Sprintf("url: %q is not an http or https URL", p.URL))
	}
	if p.Status == 0 {
		p.Status = http.StatusOK
	}
	if p.Status < 100 || p.Status > 599 {
		errs = append(errs, fmt.Sprintf("status: %d is not an HTTP status", p.Status))
	}
	if p.Body != "" {
		re, err := regexp.Compile(p.Body)
		if err != nil {
			errs = append(errs, fmt.Sprintf("body: %q is not a regular expression: %v", p.Body, err))
		}
		p.body = re
	}
	for k := range p.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			errs = append(errs, fmt.Sprintf("headers: %q is not a header name", k))
		}
	}
	return errs
}

// Mask replaces what varies between runs of the same behaviour (a
// timestamp, a duration, a generated id) with a fixed text before a
// check's output is digested.
type Mask struct {
	// Builtin is one of timestamps, durations, uuids, hex-ids; or give
	// Pattern.
	Builtin string `yaml:"builtin"`
	Pattern string `yaml:"pattern"`
	// As replaces each match; <builtin> or <masked> when empty.
	As string `yaml:"as"`
}

type mask struct {
	re *regexp.Regexp
	// match, for a builtin, finds what re finds, faster.
	match  matchAt
	starts starts
	as     []byte
}

// Builtins are the masks a suite can name.
var Builtins = map[string]string{
	"timestamps": `\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?`,
	"durations":  `\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)\b`,
	"uuids":      `\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`,
	"hex-ids":    `\b[0-9a-f]{16,64}\b`,
}

func (m Mask) compile() (mask, error) {
	pat := m.Pattern
	as := m.As
	switch {
	case m.Builtin != "" && m.Pattern != "":
		return mask{}, errors.New("give builtin or pattern, not both")
	case m.Builtin != "":
		pat = Builtins[m.Builtin]
		if pat == "" {
			names := make([]string, 0, len(Builtins))
			for n := range Builtins {
				names = append(names, n)
			}
			sort.Strings(names)
			return mask{}, fmt.Errorf("builtin %q is not a mask: use one of %s", m.Builtin, strings.Join(names, ", "))
		}
		if as == "" {
			as = "<" + m.Builtin + ">"
		}
	case m.Pattern == "":
		return mask{}, errors.New("give builtin (timestamps, durations, uuids, hex-ids) or pattern")
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return mask{}, fmt.Errorf("pattern %q is not a regular expression: %v", pat, err)
	}
	if as == "" {
		as = "<masked>"
	}
	return mask{re: re, match: builtinMatchers[m.Builtin], starts: builtinStarts[m.Builtin], as: []byte(as)}, nil
}

// Normalise applies the suite's masks, in order, to a check's output.
func (s *Suite) Normalise(out []byte) []byte {
	for _, m := range s.masks {
		if m.match != nil {
			out = replaceAll(out, m.match, m.starts, m.as)
		} else {
			out = m.re.ReplaceAllLiteral(out, m.as)
		}
	}
	return out
}

// Digest is the sha256 of normalised output.
func Digest(normalised []byte) string {
	sum := sha256.Sum256(normalised)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// expand replaces ${NAME} with the process environment's value.
func expand(s string, env func(string) string) string { return os.Expand(s, env) }

// RunProbe sends a probe's request within ctx and judges the response.
// The result's output is the response status line and body, normalised
// by the suite's masks; header values sent are never part of it.
func (s *Suite) RunProbe(ctx context.Context, client *http.Client, c *Check, env func(string) string) Result {
	r := Result{Check: c.Name, Covers: c.Covers}
	p := c.HTTP
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	target := expand(p.URL, env)
	req, err := http.NewRequestWithContext(ctx, p.Method, target, nil)
	if err != nil {
		// Named as the suite writes it: the error would quote the URL
		// with the environment's values in it.
		why := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			why = ue.Err.Error()
		}
		r.Failure = fmt.Sprintf("bad request: %s is not a URL once its variables are filled in: %s", p.URL, why)
		return s.finish(r, []byte(r.Failure+"\n"))
	}
	for k, v := range p.Headers {
		req.Header.Set(k, expand(v, env))
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Failure = "no response: " + probeError(ctx, err)
		return s.finish(r, []byte(r.Failure+"\n"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	resp.Body.Close()
	if err != nil {
		r.Failure = "response body: " + probeError(ctx, err)
		return s.finish(r, []byte(r.Failure+"\n"))
	}
	r.Status = resp.StatusCode
	out := make([]byte, 0, len(p.Method)+len(c.Name)+16+len(body))
	out = append(append(append(append(out, p.Method...), ' '), c.Name...), "\nHTTP "...)
	out = append(strconv.AppendInt(out, int64(resp.StatusCode), 10), '\n')
	out = append(out, body...)
	switch {
	case resp.StatusCode != p.Status:
		r.Failure = fmt.Sprintf("status %d, want %d", resp.StatusCode, p.Status)
	case p.body != nil && !p.body.Match(body):
		r.Failure = fmt.Sprintf("body does not match %q", p.Body)
	default:
		r.Passed = true
	}
	if !r.Passed {
		r.ExitCode = 1
	}
	return s.finish(r, out)
}

func probeError(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func (s *Suite) finish(r Result, out []byte) Result {
	if !r.Passed && r.ExitCode == 0 {
		r.ExitCode = 1
	}
	r.Output = s.Normalise(out)
	r.Digest = Digest(r.Output)
	return r
}

// Outcome finishes a command check's result from its exit and output.
func (s *Suite) Outcome(c *Check, exitCode int, interrupted bool, output []byte) Result {
	r := Result{Check: c.Name, Covers: c.Covers, ExitCode: exitCode, Passed: exitCode == 0 && !interrupted}
	switch {
	case interrupted:
		r.Failure = "interrupted (timed out)"
	case exitCode != 0:
		r.Failure = fmt.Sprintf("exited %d", exitCode)
	}
	r.Output = s.Normalise(output)
	r.Digest = Digest(r.Output)
	return r
}

// Execute runs fn for every check, at most parallel at once, each within
// its own timeout, and returns the results in the suite's order, however
// they finished. progress, when set, is called after each check, one
// call at a time.
func Execute(ctx context.Context, s *Suite, parallel int, fn func(ctx context.Context, c *Check) (Result, error), progress func(done int, r Result)) ([]Result, error) {
	if parallel < 1 {
		parallel = 1
	}
	results := make([]Result, len(s.Checks))
	errs := make([]error, len(s.Checks))
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	deadlines := &timeouts{parent: ctx, shared: map[time.Duration]*sharedTimeout{}}
	defer deadlines.stop()
	// parallel workers take the checks in the suite's order: a goroutine
	// per check grew a fresh stack for every probe.
	var next atomic.Int64
	for range min(parallel, len(s.Checks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(s.Checks) {
					return
				}
				c := s.Checks[i]
				cctx, release := deadlines.get(c.TimeoutOf())
				results[i], errs[i] = fn(cctx, c)
				release()
				if progress != nil {
					mu.Lock()
					done++
					progress(done, results[i])
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// timeouts hands out the contexts that bound checks. A context with a
// deadline (its timer, and the children the HTTP transport hangs on it)
// cost a probe of a local service as much as the rest of the harness, so
// checks of the same timeout that start within 1/64 of it of each other
// share one, whose deadline is the timeout after the last start it may
// serve: a check is stopped no sooner than its timeout, and no later
// than 1/64 of it after.
type timeouts struct {
	parent context.Context
	mu     sync.Mutex
	shared map[time.Duration]*sharedTimeout
	all    []context.CancelFunc
}

type sharedTimeout struct {
	ctx    context.Context
	cancel context.CancelFunc
	// until is the last start it serves; users counts the checks it
	// bounds now.
	until time.Time
	users int
}

// timeoutSlack is the share of a timeout by which a check may overrun it.
const timeoutSlack = 64

// get returns a context that ends no sooner than timeout from now, and
// the function to call when the check is done with it.
func (t *timeouts) get(timeout time.Duration) (context.Context, func()) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.shared[timeout]
	if st == nil || now.After(st.until) || st.ctx.Err() != nil {
		slack := timeout / timeoutSlack
		ctx, cancel := context.WithDeadline(t.parent, now.Add(timeout+slack))
		st = &sharedTimeout{ctx: ctx, cancel: cancel, until: now.Add(slack)}
		t.shared[timeout] = st
		t.all = append(t.all, cancel)
	}
	st.users++
	return st.ctx, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		// The last check of a context no later check can share frees
		// its timer at once.
		if st.users--; st.users == 0 && time.Now().After(st.until) {
			st.cancel()
		}
	}
}

// stop frees every context's timer.
func (t *timeouts) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, cancel := range t.all {
		cancel()
	}
}

// JUnit is a suite run as a JUnit XML report: one test case per check,
// its coverage areas as the class name, a failure saying why it failed
// (for a refused check, the blocker), and the
// normalised output's digest as a property. It holds no times, so the
// same behaviour gives the same report. A refused mutating check is a
// failure of type refused.
//
// It is written out directly, byte for byte what encoding/xml's
// MarshalIndent gives for the report's shape (TestJUnit_SameBytesAsXMLMarshal
// holds it to that), at a fraction of the cost: a suite's report is
// written on every run.
func JUnit(s *Suite, results []Result) []byte {
	failures := 0
	size := len(xml.Header) + 128
	for _, r := range results {
		if r.Refused != "" || !r.Passed {
			failures++
		}
		size += 256 + len(r.Check) + len(r.Failure) + len(r.Refused) + 2*len(r.Output)
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	b.WriteString(xml.Header)
	b.WriteString(`<testsuite name="`)
	escape(b, s.Name)
	b.WriteString(`" tests="`)
	b.WriteString(strconv.Itoa(len(results)))
	b.WriteString(`" failures="`)
	b.WriteString(strconv.Itoa(failures))
	b.WriteString(`" errors="0" skipped="0">`)
	for _, r := range results {
		b.WriteString("\n  <testcase name=\"")
		escape(b, r.Check)
		b.WriteString(`" classname="`)
		escape(b, s.Name)
		b.WriteByte('.')
		for k, c := range r.Covers {
			if k > 0 {
				b.WriteByte(',')
			}
			escape(b, c)
		}
		b.WriteString(`">`)
		// encoding/xml writes the properties element even when there
		// is no property in it.
		b.WriteString("\n    <properties>")
		if r.Digest != "" || r.Evidence != "" {
			if r.Digest != "" {
				b.WriteString("\n      <property name=\"digest\" value=\"")
				escape(b, r.Digest)
				b.WriteString(`"></property>`)
			}
			if r.Evidence != "" {
				b.WriteString("\n      <property name=\"evidence\" value=\"")
				escape(b, r.Evidence)
				b.WriteString(`"></property>`)
			}
			b.WriteString("\n    </properties>")
		} else {
			b.WriteString("</properties>")
		}
		switch {
		case r.Refused != "":
			// A refused check did not pass: the report fails, so the gate
			// never takes a partial run for a passing one.
			b.WriteString("\n    <failure message=\"")
			escape(b, "refused: "+r.Refused)
			b.WriteString(`" type="refused"></failure>`)
		case !r.Passed:
			b.WriteString("\n    <failure message=\"")
			escape(b, r.Failure)
			b.WriteString(`"></failure>`)
		}
		if len(r.Output) > 0 {
			b.WriteString("\n    <system-out>")
			out := string(r.Output)
			if !utf8.ValidString(out) {
				out = strings.ToValidUTF8(out, "\uFFFD")
			}
			escape(b, out)
			b.WriteString("</system-out>")
		}
		b.WriteString("\n  </testcase>")
	}
	if len(results) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("</testsuite>\n")
	return b.Bytes()
}

// escape writes text as XML character data or an attribute value,
// escaped as encoding/xml escapes it (xml.EscapeText): markup and
// quotes as entities, tab, newline and carriage return as character
// references, and what XML cannot hold as U+FFFD.
func escape(b *bytes.Buffer, text string) {
	last := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\'' && c != '&' && c != '<' && c != '>' {
			i++
			continue
		}
		r, width := utf8.DecodeRuneInString(text[i:])
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !inXMLCharRange(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
			}
		}
		if esc == "" {
			i += width
			continue
		}
		b.WriteString(text[last:i])
		b.WriteString(esc)
		i += width
		last = i
	}
	b.WriteString(text[last:])
}

// inXMLCharRange says whether XML 1.0 can hold r.
func inXMLCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// OneCase is a single check's result as a JUnit report of one test: how
// a probe is recorded, so that the gate judges it like any test report.
func OneCase(s *Suite, r Result) []byte {
	return JUnit(&Suite{Name: s.Name, masks: s.masks}, []Result{r})
}
