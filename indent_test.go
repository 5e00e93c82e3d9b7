package fairway_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"fairway"
)

// Without audit events, MarshalIndent writes what json.MarshalIndent
// writes, byte for byte: strings that hold JSON's own punctuation and
// escapes, empty and nested containers, numbers, null, HTML characters.
func TestMarshalIndent_SameAsEncodingJSONWithoutEvents(t *testing.T) {
	values := []any{
		nil, 1.5, "plain", `a "quoted" {brace} [bracket], comma: \ back\slash`, "<tag> & \u2028 é ☃",
		[]any{}, map[string]any{}, []any{[]any{}, map[string]any{}, nil, true, false, -12e-3},
		map[string]any{"z": map[string]any{"y": []any{1, "two", map[string]any{"x": nil}}}, "a": "}"},
		struct {
			Name  string            `json:"name"`
			Tags  []string          `json:"tags"`
			Raw   json.RawMessage   `json:"raw"`
			Inner map[string]string `json:"inner,omitempty"`
		}{"n", nil, json.RawMessage(`{"a": [1, 2]}`), map[string]string{"k": "v"}},
		// Almost an event: one key short, so it is laid out as usual.
		map[string]any{"seq": 1, "change": map[string]any{"a": 1}},
		&fairway.Token{ID: "aaaaaaaaaaaaaaaa", Actor: "omar", CreatedAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
	}
	for _, v := range values {
		want, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := fairway.MarshalIndent(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("MarshalIndent(%#v) =\n%s\nwant\n%s", v, got, want)
		}
	}
}

// Audit events wherever they sit (alone, in a list, in a proof, in a map)
// keep their change as stored, so each decodes to an event that matches
// its hash with no re-compacting; json.MarshalIndent would not.
func TestMarshalIndent_KeepsEveryEventsChangeAsStored(t *testing.T) {
	events := chain(3)
	nested, _ := fairway.CanonicalJSON(map[string]any{"task": map[string]any{"key": "OPS-1", "labels": []string{"a", "b"}}, "note": "x: {y}"})
	events[1].Change = nested
	events[1].Hash = events[1].ComputeHash()
	proof := &fairway.InclusionProof{Seq: 2, Size: 3, Event: events[1], Hashes: [][]byte{{1, 2}}}
	for _, v := range []any{events[1], events, proof, map[string]any{"old": events[0], "new": events[2]}} {
		out, err := fairway.MarshalIndent(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if bytes.Contains(out, []byte(`"hash": "`+e.Hash+`"`)) && !bytes.Contains(out, append([]byte(`"change": `), e.Change...)) {
				t.Errorf("event %d's change is not as stored in\n%s", e.Seq, out)
			}
		}
		var back struct {
			Event *fairway.AuditEvent `json:"event"`
		}
		if p, ok := v.(*fairway.InclusionProof); ok {
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Event.Change, p.Event.Change) || back.Event.ComputeHash() != p.Event.Hash {
				t.Errorf("the printed proof's event does not hash as stored: %s", back.Event.Change)
			}
			old, _ := json.MarshalIndent(v, "", "  ")
			json.Unmarshal(old, &back)
			if back.Event.ComputeHash() == p.Event.Hash {
				t.Errorf("json.MarshalIndent kept the change too: the test cannot tell the difference")
			}
		}
	}
}

// Crafted bytes in a change (markup, line and paragraph separators,
// terminal escapes, invalid UTF-8, a large value, deep nesting, an
// event-shaped object inside) leave MarshalIndent's output valid JSON
// with no raw control character, "<", U+2028/9 or invalid UTF-8, and
// every event hashing as stored. (Bidi controls are legal JSON text: the
// ledger refuses them where text enters, fairway.CheckText.)
func TestMarshalIndent_CraftedChangesStayValidAndInert(t *testing.T) {
	crafted := []any{
		"</script><script>alert(1)</script>",
		"line\u2028para\u2029bidi\u202e\u2066end",
		"\x1b[2J\x1b]0;title\x07\r\n\t\x00",
		"bad utf-8: \xff\xfe\xc3",
		`a "quoted" {brace} [bracket], comma: \ back\slash`,
		strings.Repeat("é☃𝄞", 200000),
		map[string]any{"seq": 1, "change": map[string]any{"</script>": "x"}, "hash": "y"},
	}
	deep := any("bottom")
	for range 200 {
		deep = []any{map[string]any{"d": deep}}
	}
	crafted = append(crafted, deep)
	var head fairway.AuditHead
	var events []*fairway.AuditEvent
	for _, v := range crafted {
		change, err := fairway.CanonicalJSON(map[string]any{"note": v, "title": v})
		if err != nil {
			t.Fatal(err)
		}
		e := &fairway.AuditEvent{At: time.Unix(1, 0), Actor: "codex", ActorKind: "agent", Action: "evidence.add", Subject: "OPS-1", Change: change}
		e.Seal(head)
		head = fairway.AuditHead{Seq: e.Seq, Hash: e.Hash}
		events = append(events, e)
	}
	out, err := fairway.MarshalIndent(map[string]any{"events": events})
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		t.Fatalf("MarshalIndent wrote invalid JSON or UTF-8")
	}
	for i, c := range string(out) {
		if c == '<' || (unicode.IsControl(c) && c != '\n') || c == '\u2028' || c == '\u2029' {
			t.Fatalf("MarshalIndent wrote %U raw at byte %d", c, i)
		}
	}
	var back struct {
		Events []*fairway.AuditEvent `json:"events"`
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	for i, e := range back.Events {
		if !bytes.Equal(e.Change, events[i].Change) || e.ComputeHash() != events[i].Hash {
			t.Errorf("event %d's change did not come back as stored", i+1)
		}
	}
}
