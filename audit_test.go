package fairway_test

import (
	"testing"
	"time"

	"fairway"
)

func TestCanonicalJSON_SortsKeysAndKeepsNumbers(t *testing.T) {
	got, err := fairway.CanonicalJSON(map[string]any{"b": 1, "a": map[string]any{"z": 12345678901234567, "y": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"y":"x","z":12345678901234567},"b":1}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func chain(n int) []*fairway.AuditEvent {
	var out []*fairway.AuditEvent
	head := fairway.AuditHead{}
	for i := range n {
		e := &fairway.AuditEvent{At: time.Unix(int64(i), 0), Actor: "alice", ActorKind: "human", Action: "x", Subject: "S", Change: []byte(`{}`)}
		e.Seal(head)
		head = fairway.AuditHead{Seq: e.Seq, Hash: e.Hash}
		out = append(out, e)
	}
	return out
}

func TestAuditVerifier(t *testing.T) {
	events := chain(5)
	head := fairway.AuditHead{Seq: 5, Hash: events[4].Hash}
	var v fairway.AuditVerifier
	for _, e := range events {
		v.Add(e)
	}
	if res := v.Finish(head); !res.OK || res.Events != 5 {
		t.Fatalf("intact chain: %+v", res)
	}
	if events[0].Prev != fairway.GenesisHash {
		t.Fatalf("first prev = %s", events[0].Prev)
	}
	var empty fairway.AuditVerifier
	if res := empty.Finish(fairway.AuditHead{}); !res.OK {
		t.Fatalf("empty log: %+v", res)
	}
	// A changed timestamp is an edit.
	edited := *events[2]
	edited.At = edited.At.Add(time.Nanosecond)
	var v2 fairway.AuditVerifier
	for _, e := range []*fairway.AuditEvent{events[0], events[1], &edited, events[3]} {
		v2.Add(e)
	}
	if res := v2.Finish(head); res.OK || res.FirstBadSeq != 3 {
		t.Fatalf("edited time: %+v", res)
	}
}

// FuzzAuditVerifier_AnyEditIsFound changes one field of one event in a
// chain and checks that verification fails exactly when something changed.
func FuzzAuditVerifier_AnyEditIsFound(f *testing.F) {
	f.Add(uint8(0), uint8(0), "mallory")
	f.Add(uint8(3), uint8(2), "task.close")
	f.Add(uint8(4), uint8(5), `{"x":1}`)
	f.Fuzz(func(t *testing.T, which, field uint8, value string) {
		events := chain(5)
		head := fairway.AuditHead{Seq: 5, Hash: events[4].Hash}
		e := *events[int(which)%5]
		orig := e
		switch field % 6 {
		case 0:
			e.Actor = value
		case 1:
			e.ActorKind = value
		case 2:
			e.Action = value
		case 3:
			e.Subject = value
		case 4:
			e.At = e.At.Add(time.Duration(len(value)))
		case 5:
			e.Change = []byte(value)
		}
		events[int(which)%5] = &e
		var v fairway.AuditVerifier
		for _, ev := range events {
			v.Add(ev)
		}
		res := v.Finish(head)
		changed := e.Actor != orig.Actor || e.ActorKind != orig.ActorKind || e.Action != orig.Action ||
			e.Subject != orig.Subject || !e.At.Equal(orig.At) || string(e.Change) != string(orig.Change)
		if changed && (res.OK || res.FirstBadSeq != e.Seq) {
			t.Fatalf("edit of event %d (field %d) not found: %+v", e.Seq, field%6, res)
		}
		if !changed && !res.OK {
			t.Fatalf("unchanged chain failed: %+v", res)
		}
	})
}
