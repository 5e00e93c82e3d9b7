package fairway

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// canonicalInputs are values CanonicalJSON meets (events' changes,
// records, scopes) and JSON it should never meet but must still get
// right: escapes a first Marshal would not write, duplicate keys,
// invalid UTF-8, HTML characters, numbers as written.
func canonicalInputs() []any {
	at := time.Date(2026, 11, 1, 9, 0, 0, 123, time.UTC)
	return []any{
		&Task{Key: "OPS-1", Title: "Rotate <the> edge & tunnel \u2028", Scope: Scope{Text: "é", Surfaces: []string{"edge", "dns"}}, CreatedAt: at, Labels: []string{}},
		&Evidence{ID: "EV-1", Task: "OPS-1", Kind: "command-result", RecordedAt: at, Command: &Command{Argv: []string{"go", "test", "./..."}, ExitCode: 1, Started: at, Ended: at}},
		map[string]any{"b": 1, "a": []any{map[string]any{"z": nil, "y": true, "x": 1.5e300}}, "": "empty key", "ä": "non-ascii key", "a\"b": "quote in key"},
		map[string]any{},
		[]any{},
		[]any{[]any{}, map[string]any{}, "", 0, math.Copysign(0, -1), 1e21, 12345678901234567890.0},
		"just a string", 42, nil, true,
		json.RawMessage(`{"b":2,"a":1,"b":3}`),
		json.RawMessage(` { "k" : [ 1 , 2.50 , -0 , 1E5 ] , "\u0041" : "\u00e9\/" } `),
		json.RawMessage(`{"z":{"y":{"x":[{"w":"v"}]}},"a":"<&>"}`),
		json.RawMessage("{\"bad\":\"\xff\xfe\",\"\xc3\x28\":1}"),
		json.RawMessage(`["\ud800", "\u2028", "tab\tnot allowed raw"]`),
		json.RawMessage(`{"a":{"c":1,"b":2},"a":{"e":3,"d":4}}`),
	}
}

func TestCanonicalJSON_SameAsDecodingAndEncodingAgain(t *testing.T) {
	for i, v := range canonicalInputs() {
		first, err := json.Marshal(v)
		if err != nil {
			// Marshal refuses it (a raw string with a tab): so must we.
			if _, err2 := CanonicalJSON(v); err2 == nil {
				t.Errorf("input %d: Marshal refuses it (%v) but CanonicalJSON did not", i, err)
			}
			continue
		}
		want, err := canonicalSlow(first)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		got, err := CanonicalJSON(v)
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("input %d:\n got  %s\n want %s", i, got, want)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, v := range canonicalInputs() {
		if b, err := json.Marshal(v); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		want, werr := canonicalSlow(b)
		got, gerr := CanonicalJSON(json.RawMessage(b))
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got  %s %v\n want %s %v", b, got, gerr, want, werr)
		}
	})
}

// BenchmarkCanonicalJSON_Task is the audit body of a task creation, the
// commonest write.
func BenchmarkCanonicalJSON_Task(b *testing.B) {
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	task := &Task{Key: "W-12345", Title: "write 12345", Creator: "alice", Status: StatusOpen, Risk: "low", Priority: 2, CreatedAt: at, UpdatedAt: at}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalJSON(task); err != nil {
			b.Fatal(err)
		}
	}
}
