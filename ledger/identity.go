package ledger

import (
	"context"
	"strings"
	"sync"
	"time"

	"fairway"
)

// identities keeps the actors the ledger has read, and which actor each
// token hash names, so a write or a request does not read them from the
// store every time. What it keeps is stamped with the audit head it was
// read at (sequence and chain hash, which commits to every event before
// it) and is used only while the store's head is that head, or one this
// ledger moved it to with events that change no actor and no token. Any
// other head (another process wrote, a write was rolled back, a ledger
// was imported) empties it first, so a disabled actor or a revoked token
// is refused on the very next request, whichever process changed it.
//
// It answers at every such head it has seen, not only the newest: while
// the writer moves the head on inside a batch not yet committed, requests
// read the last committed head, and a cache valid at one head only was
// emptied by each in turn.
type identities struct {
	mu sync.Mutex
	// heads are the audit heads what is kept is valid at, all with the
	// same actors and tokens; recent holds them in a ring whose oldest,
	// at next once full, is forgotten first.
	heads  map[headKey]struct{}
	recent []headKey
	next   int
	actors map[string]fairway.Actor
	tokens map[string]fairway.Token // token hash → the token, naming its actor
	// tokenIDs maps a kept token's id to its hash: a write re-checks its
	// request's token by id (Auth.TokenID).
	tokenIDs map[string]string
	// sessions maps a session credential's hash to what it names: the
	// session, its actor, its generation, its expiry and its attaching
	// token, which never change once the session is attached, and whether
	// that token was revoked, which only a token event changes. Whether
	// the session may still act is the fence's question, asked of the
	// store in every write.
	sessions map[string]sessionCred
}

// sessionCred is what a session credential names, and when it expires
// (zero: never).
type sessionCred struct {
	id, actor  string
	generation int64
	expires    time.Time
	// token is the id of the bearer token that attached the session, and
	// tokenRevoked when it was revoked (zero: it was not, as of the head
	// this is kept at).
	token        string
	tokenRevoked time.Time
	// cut is why the session ended when its actor's tokens were revoked
	// or rotated, which stopped its credential at expires; empty when
	// they were not.
	cut string
	// session is the session as read: its state and lease say whether
	// the credential may still read. An ending is an event that empties
	// what is kept (changesIdentity); a heartbeat is not, so a lease that
	// looks run out is read again.
	session fairway.Session
}

// leaseLive says whether the kept session was attached with a lease
// running at now; otherwise the store is asked.
func (c sessionCred) leaseLive(now time.Time) bool {
	return c.session.State == fairway.SessionAttached && now.Before(c.session.LeaseUntil)
}

// headKey names an audit head: its sequence and chain hash.
type headKey struct {
	seq  int64
	hash string
}

func keyOf(h fairway.AuditHead) headKey { return headKey{h.Seq, h.Hash} }

// headKey reads the store's committed audit head in one statement, when
// the ledger keeps identities and the store can (fairway.HeadKeyReader):
// what is kept for that head answers without a read transaction. On
// anything else the caller reads as it would without it. An event
// stream's check names the head of the batch it delivers (a
// fairway.WatchHead) instead, while what is kept holds at it: nothing
// changed an identity since (appended). Otherwise the store's head is
// read as without it.
func (l *Ledger) headKey(ctx context.Context) (headKey, bool) {
	if l.ids == nil {
		return headKey{}, false
	}
	if pin := fairway.WatchHeadFromContext(ctx); pin != nil {
		if seq, hash, ok := pin.Get(); ok && l.ids.holdsAt(headKey{seq, hash}) {
			return headKey{seq, hash}, true
		}
	}
	r, ok := l.store.(fairway.HeadKeyReader)
	if !ok {
		return headKey{}, false
	}
	seq, hash, err := r.AuditHeadKey(ctx)
	return headKey{seq, hash}, err == nil
}

// changesIdentity says whether an event's action may change an actor, a
// token or whether a session credential works: creating, disabling or
// binding an actor, issuing or revoking tokens, ending a session. A
// refusal changes nothing.
func changesIdentity(action string) bool {
	if strings.HasSuffix(action, ".refused") {
		return false
	}
	switch action {
	case "session.detach", "session.replace", "session.interrupt", "session.expire":
		return true
	}
	return strings.HasPrefix(action, "actor.") || strings.HasPrefix(action, "token.")
}

// maxIdentityHeads bounds the heads the cache answers at: more than a
// write batch moves the head by, so a request reading the last commit
// still finds it.
const maxIdentityHeads = 1024

// valid says whether what is kept holds at head. The caller holds mu.
func (c *identities) valid(head headKey) bool {
	_, ok := c.heads[head]
	return ok && c.actors != nil
}

// holdsAt says whether what is kept holds at head.
func (c *identities) holdsAt(head headKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.valid(head)
}

// reset empties the cache and makes it valid at head only. The caller
// holds mu.
func (c *identities) reset(head headKey) {
	c.heads, c.recent, c.next = map[headKey]struct{}{head: {}}, append(c.recent[:0], head), 0
	c.actors, c.tokens, c.tokenIDs, c.sessions = map[string]fairway.Actor{}, map[string]fairway.Token{}, map[string]string{}, map[string]sessionCred{}
}

// rebase empties the cache unless it holds at head. The caller holds mu.
func (c *identities) rebase(head headKey) {
	if !c.valid(head) {
		c.reset(head)
	}
}

// actor returns a copy of the actor named, if it is kept for head.
func (c *identities) actor(head headKey, name string) (*fairway.Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(head) {
		return nil, false
	}
	a, ok := c.actors[name]
	return &a, ok
}

// token returns copies of the actor a token hash names and of the token
// (its expiry among what it says), if kept for head. Expiry is judged by
// the caller on every use: a kept token does not outlive it.
func (c *identities) token(head headKey, hash string) (*fairway.Actor, *fairway.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(head) {
		return nil, nil, false
	}
	k, ok := c.tokens[hash]
	if !ok {
		return nil, nil, false
	}
	a, ok := c.actors[k.Actor]
	return &a, &k, ok
}

// tokenByID returns a copy of the token with this id, if kept for head.
func (c *identities) tokenByID(head headKey, id string) (*fairway.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(head) {
		return nil, false
	}
	k, ok := c.tokens[c.tokenIDs[id]]
	if !ok {
		return nil, false
	}
	return &k, true
}

// session returns the session a credential hash names and a copy of its
// actor, if both are kept for head.
func (c *identities) session(head headKey, hash string) (sessionCred, *fairway.Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(head) {
		return sessionCred{}, nil, false
	}
	cred, ok := c.sessions[hash]
	if !ok {
		return sessionCred{}, nil, false
	}
	a, ok := c.actors[cred.actor]
	return cred, &a, ok
}

// keepSession stores a session credential's hash, what it names and its
// actor, as read at head.
func (c *identities) keepSession(head headKey, hash string, cred sessionCred, a *fairway.Actor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebase(head)
	c.actors[a.Name] = *a
	c.sessions[hash] = cred
}

// keep stores an actor as read at head, and the token that named it
// (by its hash) when there is one.
func (c *identities) keep(head headKey, a *fairway.Actor, tokenHash string, k *fairway.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebase(head)
	c.actors[a.Name] = *a
	if tokenHash != "" && k != nil {
		c.tokens[tokenHash] = *k
		if k.ID != "" {
			c.tokenIDs[k.ID] = tokenHash
		}
	}
}

// appended follows an event this ledger appended, moving the head from
// before to after inside a write transaction: what is kept holds at after
// too when the event changes no identity, and is dropped when it may. The
// write may still roll back; after then names a head the store never
// reaches, and the heads it does reach are judged as before.
func (c *identities) appended(before, after headKey, action string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid(before) || changesIdentity(action) {
		c.reset(after)
		return
	}
	if _, ok := c.heads[after]; ok {
		return
	}
	c.heads[after] = struct{}{}
	if len(c.recent) < maxIdentityHeads {
		c.recent = append(c.recent, after)
		return
	}
	delete(c.heads, c.recent[c.next])
	c.recent[c.next] = after
	c.next = (c.next + 1) % maxIdentityHeads
}
