package tlog_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/tlog"
)

func TestReadVerifierKey_InlineOrFile(t *testing.T) {
	_, vkey, err := tlog.GenerateKey("fairway.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "audit.pub")
	os.WriteFile(file, []byte(vkey+"\n"), 0o644)
	for _, in := range []string{vkey, file} {
		if got, err := tlog.ReadVerifierKey(in); err != nil || got != vkey {
			t.Errorf("ReadVerifierKey(%q) = %q, %v", in, got, err)
		}
	}
	skey, _, _ := tlog.GenerateKey("fairway.test/audit")
	for _, bad := range []string{"", "no-such-file", skey, "a+b+c"} {
		if _, err := tlog.ReadVerifierKey(bad); err == nil {
			t.Errorf("ReadVerifierKey(%q) accepted", bad)
		}
	}
}

func TestCheckConsistency_NamesSizesAndRoots(t *testing.T) {
	m := newMemTree()
	for i := 0; i < 9; i++ {
		m.add(t, []byte(strings.Repeat(string(rune('a'+i)), 32)))
	}
	root := func(n int64) []byte { r, _ := tlog.RootAt(n, m.fetch); return r }
	cp := func(n int64) *fairway.Checkpoint { return &fairway.Checkpoint{Origin: "o", Size: n, Root: root(n)} }
	path, _ := tlog.Consistency(4, 9, m.fetch)
	if err := tlog.CheckConsistency(cp(4), cp(9), path); err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckConsistency(cp(9), cp(9), nil); err != nil {
		t.Fatal(err)
	}
	other := cp(9)
	other.Root = root(8)
	for _, c := range []struct {
		old, new *fairway.Checkpoint
		hashes   [][]byte
		want     string
	}{
		{cp(9), cp(4), nil, "the log shrank: checkpoint 9 (root "},
		{cp(9), other, nil, "checkpoint 9 (root "},
		{cp(4), other, path, "does NOT extend checkpoint 4 (root "},
	} {
		err := tlog.CheckConsistency(c.old, c.new, c.hashes)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckConsistency(%d→%d) = %v, want %q", c.old.Size, c.new.Size, err, c.want)
		}
	}
}

func exported(t *testing.T, changes ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	head := fairway.AuditHead{}
	for i, c := range changes {
		e := &fairway.AuditEvent{At: time.Unix(int64(i), 0).UTC(), Actor: "alice", ActorKind: "human", Action: "task.create", Subject: "T", Change: json.RawMessage(c)}
		e.Seal(head)
		head = fairway.AuditHead{Seq: e.Seq, Hash: e.Hash}
		b, _ := json.MarshalIndent(e, "", "  ") // as --json prints it
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func TestFirstDifference(t *testing.T) {
	a := exported(t, `{"n":1}`, `{"n":2}`, `{"n":3}`)
	for _, c := range []struct {
		name     string
		newer    []byte
		seq      int64
		ended    bool
		sameSize bool
	}{
		{"same", a, 0, false, true},
		{"grown", exported(t, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`), 0, false, false},
		{"rewritten", exported(t, `{"n":1}`, `{"n":9}`, `{"n":3}`), 2, false, true},
		{"cut", exported(t, `{"n":1}`), 2, true, false},
	} {
		d, err := tlog.FirstDifference(bytes.NewReader(a), bytes.NewReader(c.newer))
		if err != nil || d.Seq != c.seq || (c.seq > 0 && d.Old == nil) || (d.New == nil) != (c.ended || c.seq == 0) {
			t.Errorf("%s: %+v, %v", c.name, d, err)
		}
	}
	if d, _ := tlog.FirstDifference(bytes.NewReader(a), bytes.NewReader(exported(t, `{"n":1}`, `{"n":9}`))); d.Old.Seq != 2 || string(d.Old.Change) != `{"n":2}` || string(d.New.Change) != `{"n":9}` {
		t.Errorf("the events at the difference: %+v", d)
	}
}
