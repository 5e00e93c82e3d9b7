package storetest

import (
	"reflect"
	"testing"
	"time"

	"fairway"
)

// testScopeRecords: scope checks and acknowledgements keep every field,
// lists and layer map included, and list by task, oldest first.
func testScopeRecords(t *testing.T, s fairway.Store) {
	at := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	check := &fairway.ScopeRecord{Task: "A-1", Kind: fairway.ScopeChecked, Session: "s-1", Base: "0123abcd",
		Paths: []string{"docs/a.md", "services/gpuaas/x.go"}, Outside: []string{"services/gpuaas/x.go"},
		Layers: map[string][]string{"gpuaas-product": {"services/gpuaas/x.go"}}, Domains: []string{"gpuaas"}, By: "codex", At: at}
	ack := &fairway.ScopeRecord{Task: "A-1", Kind: fairway.ScopeAcknowledged, Paths: []string{"services/gpuaas/x.go"}, Note: "agreed", By: "alice", At: at.Add(time.Minute)}
	empty := &fairway.ScopeRecord{Task: "B-1", Kind: fairway.ScopeChecked, Paths: []string{}, By: "codex", At: at}
	update(t, s, func(tx fairway.Tx) error {
		for _, k := range []string{"A-1", "B-1", "C-1"} {
			if err := tx.InsertTask(newTask(k, at)); err != nil {
				return err
			}
		}
		for _, r := range []*fairway.ScopeRecord{check, ack, empty} {
			if err := tx.InsertScopeRecord(r); err != nil {
				return err
			}
		}
		return nil
	})
	if check.ID == 0 || ack.ID <= check.ID {
		t.Fatalf("ids %d, %d", check.ID, ack.ID)
	}
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.ScopeRecords("A-1")
		if err != nil {
			return err
		}
		if len(got) != 2 || !reflect.DeepEqual(got[0], check) || !reflect.DeepEqual(got[1], ack) {
			t.Errorf("ScopeRecords(A-1) = %+v %+v, want %+v %+v", got[0], got[1], check, ack)
		}
		got, err = tx.ScopeRecords("B-1")
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], empty) {
			t.Errorf("ScopeRecords(B-1) = %+v, %v", got, err)
		}
		got, err = tx.ScopeRecords("C-1")
		if err != nil || len(got) != 0 {
			t.Errorf("ScopeRecords(C-1) = %+v, %v", got, err)
		}
		return nil
	})
}
