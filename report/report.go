// Package report recognises test and scan reports among evidence files
// and summarises them: JUnit XML (tests passed, failed, errored, skipped)
// and SARIF (findings by severity, and runs whose tool failed, counted in
// Errors). It reads as a stream, so a large report costs no more memory
// than a small one.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"

	"fairway"
)

// Summarize reads r and returns a summary when it is a JUnit or SARIF
// report, or nil when it is neither.
//
// A report that starts as one but cannot be read to its end (cut short,
// a broken tag, a key named twice) is summarised as far as it was read
// with one more error: it never passes for a report the gate cannot
// judge, which would count by its kind.
func Summarize(r io.Reader) (*fairway.Summary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	skipBlank(br)
	head, _ := br.Peek(1)
	switch {
	case bytes.HasPrefix(head, []byte("<")):
		return junit(br)
	case bytes.HasPrefix(head, []byte("{")):
		return sarif(br)
	}
	return nil, nil
}

// skipBlank reads past leading blank space and byte order marks, however
// many: a page of blank lines must not hide a report.
func skipBlank(br *bufio.Reader) {
	for {
		b, _ := br.Peek(3)
		switch {
		case len(b) == 0:
			return
		case b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n':
			br.Discard(1)
		case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
			br.Discard(3)
		default:
			return
		}
	}
}

// junitMarkers are the elements that make an XML document a JUnit
// report even when it cannot be read.
var junitMarkers = [][]byte{[]byte("<testsuite"), []byte("<testcase"), []byte(":testsuite"), []byte(":testcase")}

// junit counts testcase elements and their outcomes.
func junit(br *bufio.Reader) (*fairway.Summary, error) {
	head, _ := br.Peek(4096)
	dec := xml.NewDecoder(br)
	dec.Strict = false
	s := &fairway.Summary{Format: "junit"}
	sawSuite := false
	inCase, caseFailed, caseErrored, caseSkipped := false, false, false, false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !sawSuite && !slices.ContainsFunc(junitMarkers, func(m []byte) bool { return bytes.Contains(head, m) }) {
				return nil, nil
			}
			// A report cut short or broken: what it says of the tests
			// it holds stands, and being unreadable is one more error.
			s.Errors++
			return s, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "testsuites", "testsuite":
				sawSuite = true
			case "testcase":
				if !sawSuite {
					return nil, nil
				}
				inCase, caseFailed, caseErrored, caseSkipped = true, false, false, false
			case "failure":
				caseFailed = inCase
			case "error":
				caseErrored = inCase
			case "skipped":
				caseSkipped = inCase
			}
		case xml.EndElement:
			if t.Name.Local == "testcase" && inCase {
				inCase = false
				s.Tests++
				switch {
				case caseErrored:
					s.Errors++
				case caseFailed:
					s.Failed++
				case caseSkipped:
					s.Skipped++
				default:
					s.Passed++
				}
			}
		default:
			if !sawSuite {
				switch t.(type) {
				case xml.ProcInst, xml.CharData, xml.Comment, xml.Directive:
					// a declaration, a document type, blank space or a
					// comment before the report
				default:
					if !slices.ContainsFunc(junitMarkers, func(m []byte) bool { return bytes.Contains(head, m) }) {
						return nil, nil
					}
				}
			}
		}
	}
	if !sawSuite {
		return nil, nil
	}
	return s, nil
}

// sarif streams a SARIF log token by token: the findings of every run's
// results by level, tool names, and whether each run's tool executed
// successfully. A result of kind "fail" is a finding whatever its level;
// pass, notApplicable and informational results are not. An object that
// names a key twice is not a SARIF log (a decoder would keep only one of
// the two, and a reader another), and neither is one nested deeper than
// any real report.
func sarif(br *bufio.Reader) (*fairway.Summary, error) {
	head, _ := br.Peek(4096)
	w := &sarifWalker{dec: json.NewDecoder(br), s: &fairway.Summary{Format: "sarif", Findings: map[string]int{}}}
	w.dec.UseNumber()
	err := w.value("", 0)
	if err == nil {
		if _, end := w.dec.Token(); end != io.EOF {
			err = errNotSARIF // more than one JSON value
		}
	}
	switch {
	case err == nil && w.version != "":
		return w.s, nil
	case err != nil && (w.version != "" || w.sawRuns && bytes.Contains(bytes.ToLower(head), []byte("sarif"))):
		// A SARIF log that cannot be read to its end is a scan whose
		// report did not complete, never one the gate cannot judge.
		w.s.Errors++
		return w.s, nil
	}
	return nil, nil
}

// maxSARIFDepth bounds nesting: real reports stay far below it.
const maxSARIFDepth = 64

type sarifWalker struct {
	dec     *json.Decoder
	s       *fairway.Summary
	version string
	sawRuns bool // the log names its runs
	// the result being read: its level, kind and rule
	level, kind, ruleID string
	ruleIndex           int
	// per run: the rules' default levels, and results waiting for them
	// (a run may list its results before its tool's rules)
	ruleLevels  map[string]string
	indexLevels []string
	rule        struct{ id, level string }
	pending     []pendingResult
}

// pendingResult is a result whose level may come from its rule.
type pendingResult struct {
	level, kind, ruleID string
	ruleIndex           int
}

var errNotSARIF = errors.New("not a SARIF log")

func (w *sarifWalker) value(path string, depth int) error {
	if depth > maxSARIFDepth {
		return errNotSARIF
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			switch path {
			case ".runs[]":
				w.ruleLevels, w.indexLevels, w.pending = map[string]string{}, nil, nil
			case ".runs[].results[]":
				w.level, w.kind, w.ruleID, w.ruleIndex = "", "", "", -1
			case ".runs[].tool.driver.rules[]":
				w.rule.id, w.rule.level = "", ""
			}
			seen := map[string]bool{}
			for w.dec.More() {
				k, err := w.dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if path == "" && key == "runs" {
					w.sawRuns = true
				}
				if seen[key] {
					return errNotSARIF
				}
				seen[key] = true
				if err := w.value(path+"."+key, depth+1); err != nil {
					return err
				}
			}
			if _, err := w.dec.Token(); err != nil {
				return err
			}
			switch path {
			case ".runs[].results[]":
				w.pending = append(w.pending, pendingResult{w.level, w.kind, w.ruleID, w.ruleIndex})
			case ".runs[].tool.driver.rules[]":
				w.ruleLevels[w.rule.id] = w.rule.level
				w.indexLevels = append(w.indexLevels, w.rule.level)
			case ".runs[]":
				for _, r := range w.pending {
					w.finding(r)
				}
				w.pending = nil
			}
		case '[':
			for w.dec.More() {
				if err := w.value(path+"[]", depth+1); err != nil {
					return err
				}
			}
			if _, err := w.dec.Token(); err != nil {
				return err
			}
		}
	case string:
		switch path {
		case ".version":
			w.version = t
		case ".runs[].tool.driver.name":
			w.s.Tools = append(w.s.Tools, t)
		case ".runs[].results[].level":
			w.level = t
		case ".runs[].results[].kind":
			w.kind = t
		case ".runs[].results[].ruleId":
			w.ruleID = t
		case ".runs[].tool.driver.rules[].id":
			w.rule.id = t
		case ".runs[].tool.driver.rules[].defaultConfiguration.level":
			w.rule.level = t
		case ".runs[].invocations[].toolExecutionNotifications[].level":
			if t == "error" {
				w.s.Errors++
			}
		}
	case bool:
		if path == ".runs[].invocations[].executionSuccessful" && !t {
			w.s.Errors++
		}
	case json.Number:
		if path == ".runs[].results[].ruleIndex" {
			if n, err := t.Int64(); err == nil {
				w.ruleIndex = int(n)
			}
		}
	}
	return nil
}

// finding counts a result, by SARIF's defaults: kind fail; level its
// own, else its rule's default level, else warning.
func (w *sarifWalker) finding(r pendingResult) {
	switch r.kind {
	case "", "fail":
	case "open", "review":
		// needs a person's judgement: a finding until judged
	default:
		return // pass, notApplicable, informational
	}
	level := r.level
	if level == "" {
		level = w.ruleLevels[r.ruleID]
	}
	if level == "" && r.ruleIndex >= 0 && r.ruleIndex < len(w.indexLevels) {
		level = w.indexLevels[r.ruleIndex]
	}
	switch level {
	case "":
		level = "warning"
	case "none":
		if r.kind == "fail" {
			level = "error" // a stated failure cannot hide behind level none
		}
	}
	w.s.Findings[level]++
}

// String is a one-line description of a summary.
func String(s *fairway.Summary) string {
	if s == nil {
		return ""
	}
	if s.Format == "junit" {
		return strconv.Itoa(s.Tests) + " tests: " + strconv.Itoa(s.Passed) + " passed, " + strconv.Itoa(s.Failed) + " failed, " +
			strconv.Itoa(s.Errors) + " errors, " + strconv.Itoa(s.Skipped) + " skipped"
	}
	out := "SARIF findings:"
	for _, level := range []string{"error", "warning", "note", "none"} {
		out += " " + level + " " + strconv.Itoa(s.Findings[level])
	}
	return out
}
