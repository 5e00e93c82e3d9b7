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
