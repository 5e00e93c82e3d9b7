package ledger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fairway"
)

// A log whose redemption spent a link no login.link event issued (a row
// written into the store before redemptions checked the log), or minted
// a sign-in longer than the link said, is named by audit verify: the
// token that redemption issued is otherwise witnessed as genuine (R8).
func TestRowWitness_ARedemptionOfALinkNoEventIssuedIsNamed(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ev := func(seq int64, action string, change map[string]any) *fairway.AuditEvent {
		b, _ := json.Marshal(change)
		return &fairway.AuditEvent{Seq: seq, At: at.Add(time.Duration(seq) * time.Second), Action: action, Subject: "alice", Change: b}
	}
	create := ev(1, "actor.create", map[string]any{"actor": map[string]any{"name": "alice", "kind": "human"}, "token_issued": false})
	link := ev(2, "login.link", map[string]any{"actor": "alice", "link_hash": "h1", "expires_at": at.Add(10 * time.Minute), "session_ttl": "12h0m0s", "issued_by": "alice"})
	redeem := func(seq int64, hash string, lasts time.Duration) *fairway.AuditEvent {
		e := ev(seq, "login.redeem", nil)
		e.Change, _ = json.Marshal(map[string]any{"actor": "alice", "link_hash": hash, "token_issued": true,
			"token_hash": "t" + hash, "token_expires_at": e.At.Add(lasts), "token_issued_by": "alice"})
		return e
	}
	cases := []struct {
		name   string
		events []*fairway.AuditEvent
		want   string
	}{
		{"a link as issued", []*fairway.AuditEvent{create, link, redeem(3, "h1", 12*time.Hour)}, ""},
		{"a link no event issued", []*fairway.AuditEvent{create, redeem(2, "forged", 12*time.Hour)}, "event 2 signed alice in with a login link that no login.link event issued it"},
		{"a link spent twice", []*fairway.AuditEvent{create, link, redeem(3, "h1", 12*time.Hour), redeem(4, "h1", 12*time.Hour)}, "event 4 signed alice in"},
		{"a sign-in longer than the link said", []*fairway.AuditEvent{create, link, redeem(3, "h1", 7*24*time.Hour)}, "issued it for a sign-in of 12h0m0s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRowWitness()
			for _, e := range c.events {
				r.add(e)
			}
			switch {
			case c.want == "" && len(r.spent) != 0:
				t.Fatalf("problems: %+v", r.spent)
			case c.want != "" && (len(r.spent) != 1 || !strings.Contains(r.spent[0].problem, c.want)):
				t.Fatalf("problems: %+v, want one naming %q", r.spent, c.want)
			}
		})
	}
}
