package storetest

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
)

// testTablesAreLedgerTables: the store keeps exactly the tables an
// export copies, so a new table cannot be left out of one.
func testTablesAreLedgerTables(t *testing.T, s fairway.Store) {
	view(t, s, func(tx fairway.Tx) error {
		got, err := tx.Tables()
		if err != nil {
			return err
		}
		want := slices.Clone(fairway.LedgerTables)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("store tables %v, want fairway.LedgerTables %v", got, want)
		}
		return nil
	})
}

// RoundTrip loads the demo into from, exports it, imports the export into
// to (an empty store, possibly of another kind) and checks that the copy
// verifies with the same audit head and Merkle tree, holds the same rows
// (a second export is the same, byte for byte, when the stores are of
// one kind) and answers the same searches.
func RoundTrip(t *testing.T, from, to fairway.Store, sameKind bool) {
	t.Helper()
	src := ledger.New(from, mustBlobs(t))
	if err := demo.Load(ctx, src); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	progress := map[string]int64{}
	if err := src.Export(ctx, &out, func(table string, n int64) { progress[table] = n }); err != nil {
		t.Fatal(err)
	}
	if progress["audit_events"] == 0 || progress["tasks"] == 0 || progress["merkle_nodes"] == 0 {
		t.Fatalf("export progress %v", progress)
	}
	dst := ledger.New(to, mustBlobs(t))
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out.Bytes())), nil }
	res, err := dst.Import(ctx, open, nil)
	if err != nil || !res.OK {
		t.Fatalf("import: %+v %v", res, err)
	}
	var srcHead, dstHead fairway.AuditHead
	view(t, from, func(tx fairway.Tx) (err error) { srcHead, err = tx.AuditHead(); return })
	view(t, to, func(tx fairway.Tx) (err error) { dstHead, err = tx.AuditHead(); return })
	if srcHead.Seq == 0 || srcHead.Hash != dstHead.Hash || srcHead.Seq != dstHead.Seq || srcHead.TreeSize != dstHead.TreeSize ||
		!slices.EqualFunc(srcHead.Range, dstHead.Range, bytes.Equal) {
		t.Fatalf("heads differ:\n src %+v\n dst %+v", srcHead, dstHead)
	}
	if v, err := dst.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("the copy does not verify: %+v %v", v, err)
	}
	if sameKind {
		var again bytes.Buffer
		if err := dst.Export(ctx, &again, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("the copy exports differently (%d bytes, then %d)", out.Len(), again.Len())
		}
	}
	for _, q := range []string{"tunnel", "smoke passed"} {
		a, _ := src.Search(ctx, fairway.SearchQuery{Text: q})
		b, _ := dst.Search(ctx, fairway.SearchQuery{Text: q})
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("search %q: %d hits in the source, %d in the copy", q, len(a), len(b))
		}
	}
	// The copy goes on: new writes get fresh IDs and extend the chain.
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "olivia"})
	if _, err := dst.RequestWaiver(as, fairway.WaiverRequest{Task: "OPS-RTE-SERVICE-EXPOSURE-001", Requirement: "dependency:OPS-RTE-EXPORTS-001",
		Reason: "after the copy", ExpiresAt: time.Now().Add(48 * time.Hour)}); err != nil {
		t.Fatalf("a write on the copy: %v", err)
	}
	if v, err := dst.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("the copy does not verify after a write: %+v %v", v, err)
	}
	// A second import into the now full store is refused.
	if _, err := dst.Import(ctx, open, nil); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("import into a full store: %v", err)
	}
}

// ImportRefusesWhatDoesNotVerify: an export edited to change one event,
// or one row the gate reads, is refused and leaves the store empty.
func ImportRefusesWhatDoesNotVerify(t *testing.T, from fairway.Store, open func(t *testing.T) fairway.Store) {
	src := ledger.New(from, mustBlobs(t))
	if err := demo.Load(ctx, src); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := src.Export(ctx, &out, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, from, to string }{
		{"an event's change", `attach the DNS and Access policy diff`, `attach nothing`},
		{"a review row", `"changes_requested"`, `"approved"`},
		{"not an export", `"format":"` + ledger.ExportFormat + `"`, `"format":"other"`},
	}
	for _, c := range cases {
		if !bytes.Contains(out.Bytes(), []byte(c.from)) {
			t.Fatalf("%s: %q not in the export", c.name, c.from)
		}
		edited := bytes.Replace(out.Bytes(), []byte(c.from), []byte(c.to), 1)
		s := open(t)
		dst := ledger.New(s, mustBlobs(t))
		_, err := dst.Import(ctx, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(edited)), nil }, nil)
		if fairway.ErrorCode(err) != fairway.EINVALID {
			t.Fatalf("%s: import = %v, want invalid", c.name, err)
		}
		view(t, s, func(tx fairway.Tx) error {
			n, err := tx.CountActors()
			head, herr := tx.AuditHead()
			if err != nil || herr != nil || n != 0 || head.Seq != 0 {
				t.Fatalf("%s: a refused import left %d actors, head %d (%v %v)", c.name, n, head.Seq, err, herr)
			}
			return nil
		})
		if c.name == "an event's change" && !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}

func mustBlobs(t *testing.T) *blob.FileStore {
	b, err := blob.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ImportsTokensFromBeforeIDs: an export made before tokens had ids (its
// tokens rows without id, from_link, token_ttl, issued_by and
// issued_with, created_at in seconds) imports into to, and every token
// gets the id, the time and the issuer the stored ones got from the
// migrations: the issuer from the audit event that issued it.
func ImportsTokensFromBeforeIDs(t *testing.T, from, to fairway.Store) {
	t.Helper()
	src := ledger.New(from, mustBlobs(t))
	alice, err := src.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.CreateActor(fairway.NewContextWithActor(ctx, alice.Actor), fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent, IssueToken: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.CreateActor(fairway.NewContextWithActor(ctx, alice.Actor), fairway.ActorCreate{Name: "omar", Kind: fairway.KindHuman, IssueToken: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.CreateActor(fairway.NewContextWithActor(ctx, alice.Actor), fairway.ActorCreate{Name: "sana", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.RotateToken(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "sana"}), "sana", 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := src.Export(ctx, &out, nil); err != nil {
		t.Fatal(err)
	}
	var old bytes.Buffer
	drop := map[int]bool{}
	created, inTokens := -1, false
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		var l struct {
			Table   string            `json:"table"`
			Columns []string          `json:"columns"`
			Row     []json.RawMessage `json:"row"`
		}
		if line == "" || json.Unmarshal([]byte(line), &l) != nil || l.Table == "" && l.Row == nil {
			old.WriteString(line)
			continue
		}
		if l.Table != "" {
			inTokens = l.Table == "tokens"
			if !inTokens {
				old.WriteString(line)
				continue
			}
			var cols []string
			for i, c := range l.Columns {
				switch c {
				case "id", "from_link", "token_ttl", "issued_by", "issued_with":
					drop[i] = true
					continue
				case "created_at":
					created = len(cols)
				}
				cols = append(cols, c)
			}
			b, _ := json.Marshal(map[string]any{"table": "tokens", "columns": cols})
			old.Write(append(b, '\n'))
			continue
		}
		if !inTokens {
			old.WriteString(line)
			continue
		}
		var row []json.RawMessage
		for i, v := range l.Row {
			if !drop[i] {
				row = append(row, v)
			}
		}
		var nanos int64
		if err := json.Unmarshal(row[created], &nanos); err != nil {
			t.Fatalf("created_at %s: %v", row[created], err)
		}
		row[created] = json.RawMessage(strconv.FormatInt(nanos/1e9, 10))
		b, _ := json.Marshal(map[string]any{"row": row})
		old.Write(append(b, '\n'))
	}
	if created < 0 || len(drop) != 5 {
		t.Fatalf("the export's tokens table: created_at at %d, dropped %v", created, drop)
	}
	dst := ledger.New(to, mustBlobs(t))
	res, err := dst.Import(ctx, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(old.Bytes())), nil }, nil)
	if err != nil || !res.OK {
		t.Fatalf("importing an export from before token ids: %+v %v", res, err)
	}
	as := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"})
	for name, issuer := range map[string]string{"alice": "alice", "codex": "alice", "omar": "alice", "sana": "sana"} {
		list, err := dst.ListTokens(as, name)
		if err != nil || len(list) != 1 {
			t.Fatalf("%s's tokens after the import: %+v %v", name, list, err)
		}
		if k := list[0]; len(k.ID) != fairway.TokenIDLen || k.CreatedAt.Year() < 2000 || k.IssuedBy != issuer {
			t.Fatalf("%s's token after the import: %+v, want an id, a time in nanoseconds, issued by %s", name, k, issuer)
		}
	}
	k, err := dst.RevokeToken(as, fairway.TokenID(ledger.HashToken(alice.Token)))
	if err != nil || k.Actor != "alice" {
		t.Fatalf("revoking the imported token by id: %+v %v", k, err)
	}
}

// ImportsALogFromBeforeTheTree checks that an export of a log written
// before the Merkle tree, made before the head said where the tree began
// (no tree_from column), imports and verifies into to, and catches its
// tree up on the next write; and that the same export saying its tree
// began with its log (as a log whose tree head was emptied would) is
// refused. from starts empty.
func ImportsALogFromBeforeTheTree(t *testing.T, from fairway.Store, newStore func() fairway.Store) {
	t.Helper()
	src := ledger.New(from, mustBlobs(t))
	src.SkipTree = true // appended as before the tree: no leaves
	alice, err := src.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman})
	if err != nil {
		t.Fatal(err)
	}
	as := fairway.NewContextWithActor(ctx, alice.Actor)
	for _, k := range []string{"T-1", "T-2"} {
		if _, err := src.CreateTask(as, fairway.TaskCreate{Key: k, Title: "before the tree"}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := src.Export(ctx, &out, nil); err != nil {
		t.Fatal(err)
	}
	// The export as a store before migration 0019 wrote it.
	var old bytes.Buffer
	treeFrom, inHead := -1, false
	for _, line := range strings.SplitAfter(out.String(), "\n") {
		var l struct {
			Table   string            `json:"table"`
			Columns []string          `json:"columns"`
			Row     []json.RawMessage `json:"row"`
		}
		if line == "" || json.Unmarshal([]byte(line), &l) != nil || l.Table == "" && l.Row == nil || l.Table == "" && !inHead {
			old.WriteString(line)
			continue
		}
		if l.Table != "" {
			if inHead = l.Table == "audit_head"; inHead {
				treeFrom = slices.Index(l.Columns, "tree_from")
				b, _ := json.Marshal(map[string]any{"table": l.Table, "columns": slices.Delete(l.Columns, treeFrom, treeFrom+1)})
				line = string(b) + "\n"
			}
			old.WriteString(line)
			continue
		}
		b, _ := json.Marshal(map[string]any{"row": slices.Delete(l.Row, treeFrom, treeFrom+1)})
		old.Write(append(b, '\n'))
	}
	if treeFrom < 0 {
		t.Fatalf("the export has no audit_head.tree_from")
	}
	dst := ledger.New(newStore(), mustBlobs(t))
	res, err := dst.Import(ctx, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(old.Bytes())), nil }, nil)
	if err != nil || !res.OK || res.Events != 3 {
		t.Fatalf("importing an export of a log from before the tree: %+v %v", res, err)
	}
	if _, err := dst.CreateTask(as, fairway.TaskCreate{Key: "T-3", Title: "after the tree"}); err != nil {
		t.Fatal(err)
	}
	if head, err := dst.AuditTree(ctx); err != nil || head.Size != 4 {
		t.Fatalf("the tree after the first write: %+v %v, want all 4 events", head, err)
	}
	if v, err := dst.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("verify after the catch-up: %+v %v", v, err)
	}
	// The export as made now says the tree began with the log (tree_from
	// 0): a tree behind it is refused.
	_, err = ledger.New(newStore(), mustBlobs(t)).Import(ctx, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out.Bytes())), nil }, nil)
	if fairway.ErrorCode(err) != fairway.EINVALID || !strings.Contains(err.Error(), "its tree began with event 1") {
		t.Fatalf("importing a log whose tree is behind it from its first event: %v, want refused", err)
	}
}
