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
	"strconv"

	"fairway"
)

// Summarize reads r and returns a summary when it is a JUnit or SARIF
// report, or nil when it is neither.
func Summarize(r io.Reader) (*fairway.Summary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4096)
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	switch {
	case bytes.HasPrefix(trimmed, []byte("<")):
		return junit(br)
	case bytes.HasPrefix(trimmed, []byte("{")) && bytes.Contains(head, []byte(`"runs"`)):
		return sarif(br)
	}
	return nil, nil
}

// junit counts testcase elements and their outcomes.
func junit(r io.Reader) (*fairway.Summary, error) {
	dec := xml.NewDecoder(r)
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
			if !sawSuite {
				return nil, nil
			}
			return nil, err
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
				if _, ok := t.(xml.ProcInst); !ok {
					if _, ok := t.(xml.CharData); !ok {
						if _, ok := t.(xml.Comment); !ok {
							return nil, nil
						}
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
func sarif(r io.Reader) (*fairway.Summary, error) {
	w := &sarifWalker{dec: json.NewDecoder(r), s: &fairway.Summary{Format: "sarif", Findings: map[string]int{}}}
	w.dec.UseNumber()
	if err := w.value("", 0); err != nil || w.version == "" {
		return nil, nil
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return nil, nil // more than one JSON value
	}
	return w.s, nil
}

// maxSARIFDepth bounds nesting: real reports stay far below it.
const maxSARIFDepth = 64

type sarifWalker struct {
	dec     *json.Decoder
	s       *fairway.Summary
	version string
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
