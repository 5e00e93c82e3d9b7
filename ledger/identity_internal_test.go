package ledger

import (
	"fmt"
	"testing"

	"fairway"
)

func head(seq int64) headKey { return headKey{seq, fmt.Sprintf("h%d", seq)} }

// While the writer moves the head on inside a batch not yet committed,
// a request reads the last committed head: both find what is kept, and
// neither empties it for the other.
func TestIdentities_AnswerAtTheCommittedHeadWhileABatchMovesOn(t *testing.T) {
	var c identities
	alice := &fairway.Actor{Name: "alice", Kind: fairway.KindHuman}
	c.keep(head(1), alice, "tokenhash", &fairway.Token{Actor: "alice"})
	for seq := int64(1); seq < 40; seq++ {
		c.appended(head(seq), head(seq+1), "task.create")
		if a, _, ok := c.token(head(1), "tokenhash"); !ok || a.Name != "alice" {
			t.Fatalf("after the writer reached %d, the committed head 1 finds %v %v", seq+1, a, ok)
		}
		if a, ok := c.actor(head(seq+1), "alice"); !ok || a.Name != "alice" {
			t.Fatalf("the writer's own head %d finds %v %v", seq+1, a, ok)
		}
		// A request that read the store at the committed head keeps
		// what it read without emptying the writer's heads.
		c.keep(head(1), alice, "tokenhash", &fairway.Token{Actor: "alice"})
	}
}

// An event that may change an identity forgets every head before it: a
// request at the head the disable left, or at any earlier one, reads the
// store again; so does one at a head the cache never saw.
func TestIdentities_AnIdentityChangeForgetsEveryEarlierHead(t *testing.T) {
	var c identities
	codex := &fairway.Actor{Name: "codex", Kind: fairway.KindAgent}
	c.keep(head(1), codex, "codexhash", &fairway.Token{Actor: "codex"})
	c.appended(head(1), head(2), "task.create")
	c.appended(head(2), head(3), "actor.disable")
	for seq := int64(1); seq <= 3; seq++ {
		if a, _, ok := c.token(head(seq), "codexhash"); ok {
			t.Fatalf("after the disable, head %d still names %v", seq, a)
		}
	}
	// A request whose snapshot predates the disable keeps what it read
	// there: it holds at that head only, never at the disable's.
	c.keep(head(2), codex, "codexhash", &fairway.Token{Actor: "codex"})
	if _, _, ok := c.token(head(3), "codexhash"); ok {
		t.Fatal("what a stale request read answers at the head after the disable")
	}
	c.appended(head(3), head(4), "task.create")
	for _, h := range []headKey{head(2), head(4)} {
		if _, _, ok := c.token(h, "codexhash"); ok {
			t.Fatalf("a write after the disable revived the stale read at %v", h)
		}
	}
	if _, ok := c.actor(headKey{4, "another chain"}, "codex"); ok {
		t.Fatal("a head of the same number on another chain finds what is kept")
	}
	c.appended(head(4), head(5), "token.revoke.refused")
	c.keep(head(5), codex, "codexhash", &fairway.Token{Actor: "codex"})
	c.appended(head(5), head(6), "token.revoke")
	if _, _, ok := c.token(head(6), "codexhash"); ok {
		t.Fatal("a revoke did not forget the token")
	}
}

// The heads remembered are bounded: the oldest is forgotten first.
func TestIdentities_RemembersABoundedNumberOfHeads(t *testing.T) {
	var c identities
	c.keep(head(0), &fairway.Actor{Name: "alice", Kind: fairway.KindHuman}, "", nil)
	for seq := int64(0); seq < 3*maxIdentityHeads; seq++ {
		c.appended(head(seq), head(seq+1), "claim.add")
	}
	if len(c.heads) != maxIdentityHeads || len(c.recent) != maxIdentityHeads {
		t.Fatalf("%d heads remembered (%d in the ring), want %d", len(c.heads), len(c.recent), maxIdentityHeads)
	}
	newest := int64(3 * maxIdentityHeads)
	if _, ok := c.actor(head(newest-maxIdentityHeads), "alice"); ok {
		t.Fatal("a head older than the bound still answers")
	}
	for _, seq := range []int64{newest - maxIdentityHeads + 1, newest} {
		if _, ok := c.actor(head(seq), "alice"); !ok {
			t.Fatalf("head %d, within the bound, does not answer", seq)
		}
	}
}

// A write re-checks its request's token by id: a kept token answers at
// the heads it holds at, and a revocation (an identity event) forgets it,
// so the write reads the store again.
func TestIdentities_TokenByIDForgottenByARevocation(t *testing.T) {
	var c identities
	omar := &fairway.Actor{Name: "omar", Kind: fairway.KindHuman}
	c.keep(head(1), omar, "omarhash", &fairway.Token{ID: "omarid", Actor: "omar"})
	c.appended(head(1), head(2), "task.create")
	if k, ok := c.tokenByID(head(2), "omarid"); !ok || k.Actor != "omar" {
		t.Fatalf("kept token at the next head: %+v %v", k, ok)
	}
	if _, ok := c.tokenByID(head(2), "otherid"); ok {
		t.Fatalf("an id never kept was found")
	}
	c.appended(head(2), head(3), "token.revoke.one")
	for _, h := range []headKey{head(1), head(2), head(3)} {
		if k, ok := c.tokenByID(h, "omarid"); ok {
			t.Fatalf("after a revocation, head %v still answers with %+v", h, k)
		}
	}
}

// An approval binds the task's title; one recorded before titles were
// bound carries the digest without it and keeps counting, whatever the
// title becomes, while a digest recorded since does not survive a
// retitle.
func TestSnapshot_BindsTheTitleAndKeepsApprovalsFromBefore(t *testing.T) {
	task := &fairway.Task{Key: "S-1", Title: "rotate the runner token", Scope: fairway.Scope{Text: "runners"}}
	before := taskSnapshot(task, "chain", nil)
	legacy := snapshotDigest(task, "chain", nil, false)
	if before.digest == legacy || !before.approves(before.digest) || !before.approves(legacy) {
		t.Fatalf("snapshot %+v, legacy %s", before, legacy)
	}
	retitled := *task
	retitled.Title = "delete the runners"
	after := taskSnapshot(&retitled, "chain", nil)
	if after.approves(before.digest) {
		t.Fatal("an approval recorded with the title counts after a retitle")
	}
	if !after.approves(legacy) {
		t.Fatal("an approval recorded before titles were bound stopped counting")
	}
	rescoped := retitled
	rescoped.Scope = fairway.Scope{Text: "every runner"}
	if taskSnapshot(&rescoped, "chain", nil).approves(legacy) {
		t.Fatal("an approval from before titles were bound counts after a change of scope")
	}
}
