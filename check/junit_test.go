package check

import (
	"bytes"
	"encoding/xml"
	"math/rand/v2"
	"strings"
	"testing"
)

// junitByMarshal is the report as encoding/xml writes it: what JUnit
// must write byte for byte.
func junitByMarshal(s *Suite, results []Result) []byte {
	type property struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	type message struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
	}
	type testcase struct {
		Name       string     `xml:"name,attr"`
		Classname  string     `xml:"classname,attr"`
		Properties []property `xml:"properties>property,omitempty"`
		Failure    *message   `xml:"failure,omitempty"`
		Skipped    *message   `xml:"skipped,omitempty"`
		SystemOut  string     `xml:"system-out,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	ts := testsuite{Name: s.Name, Tests: len(results)}
	for _, r := range results {
		tc := testcase{Name: r.Check, Classname: s.Name + "." + strings.Join(r.Covers, ",")}
		if r.Digest != "" {
			tc.Properties = append(tc.Properties, property{Name: "digest", Value: r.Digest})
		}
		if r.Evidence != "" {
			tc.Properties = append(tc.Properties, property{Name: "evidence", Value: r.Evidence})
		}
		switch {
		case r.Refused != "":
			// A refused check did not pass: the report fails, so the gate
			// never takes a partial run for a passing one.
			ts.Failures++
			tc.Failure = &message{Message: "refused: " + r.Refused, Type: "refused"}
		case !r.Passed:
			ts.Failures++
			tc.Failure = &message{Message: r.Failure}
		}
		if r.Output != nil {
			tc.SystemOut = strings.ToValidUTF8(string(r.Output), "\uFFFD")
		}
		ts.Cases = append(ts.Cases, tc)
	}
	out, _ := xml.MarshalIndent(ts, "", "  ")
	return append([]byte(xml.Header), append(out, '\n')...)
}

// The report JUnit writes is byte for byte the one encoding/xml writes,
// for passing, failing and refused checks, with and without digests,
// evidence and output, and with text that needs escaping or is not
// valid UTF-8.
func TestJUnit_SameBytesAsXMLMarshal(t *testing.T) {
	texts := []string{"", "plain", `quote " apos ' amp & lt < gt >`, "tab\tnl\ncr\r", "ctl \x01\x1f end", "bad \xff\xfe utf8", "é µ 日本", "\uFFFD", "]]>"}
	r := rand.New(rand.NewPCG(3, 4))
	pick := func() string { return texts[r.IntN(len(texts))] }
	for n := range 400 {
		s := &Suite{Name: pick()}
		var results []Result
		for range r.IntN(5) {
			res := Result{Check: pick(), Passed: r.IntN(2) == 0, Failure: pick(), Digest: pick(), Evidence: pick()}
			for range r.IntN(3) {
				res.Covers = append(res.Covers, pick())
			}
			if r.IntN(4) == 0 {
				res.Refused = pick()
			}
			switch r.IntN(3) {
			case 0:
				res.Output = []byte(pick())
			case 1:
				res.Output = []byte{}
			}
			results = append(results, res)
		}
		got, want := JUnit(s, results), junitByMarshal(s, results)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: %+v %+v\n got:\n%s\nwant:\n%s", n, s, results, got, want)
		}
	}
}
