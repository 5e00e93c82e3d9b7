// Package report recognises test and scan reports among evidence files
// and summarises them: JUnit XML (tests passed, failed, errored, skipped)
// and SARIF (findings by severity). It reads as a stream, so a large
// report costs no more memory than a small one.
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

// sarif streams runs[].results[].level (and tool names).
func sarif(r io.Reader) (*fairway.Summary, error) {
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name string `json:"name"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				Level string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, nil
	}
	if doc.Version == "" {
		return nil, nil
	}
	s := &fairway.Summary{Format: "sarif", Findings: map[string]int{}}
	for _, run := range doc.Runs {
		if run.Tool.Driver.Name != "" {
			s.Tools = append(s.Tools, run.Tool.Driver.Name)
		}
		for _, res := range run.Results {
			level := res.Level
			if level == "" {
				level = "warning" // SARIF's default level
			}
			s.Findings[level]++
		}
	}
	return s, nil
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
