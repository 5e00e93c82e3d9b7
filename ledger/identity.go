package ledger

import (
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
type identities struct {
	mu     sync.Mutex
	at     headKey
	actors map[string]fairway.Actor
	tokens map[string]fairway.Token // token hash → the token, naming its actor
	// sessions maps a session credential's hash to what it names: the
	// session, its actor, its generation and its expiry, which never
	// change once the session is attached. Whether the session may still act is the
	// fence's question, asked of the store in every write.
	sessions map[string]sessionCred
}

// sessionCred is what a session credential names, and when it expires
// (zero: never).
type sessionCred struct {
	id, actor  string
	generation int64
	expires    time.Time
}

// headKey names an audit head: its sequence and chain hash.
type headKey struct {
	seq  int64
	hash string
}

func keyOf(h fairway.AuditHead) headKey { return headKey{h.Seq, h.Hash} }

// changesIdentity says whether an event's action may change an actor or
// a token: creating, disabling or binding an actor, issuing or revoking
// tokens. A refusal changes nothing.
func changesIdentity(action string) bool {
	if strings.HasSuffix(action, ".refused") {
		return false
	}
	return strings.HasPrefix(action, "actor.") || strings.HasPrefix(action, "token.")
}

// rebase empties the cache unless it was read at head. The caller holds mu.
func (c *identities) rebase(head headKey) {
	if c.at == head && c.actors != nil {
		return
	}
	c.at, c.actors, c.tokens, c.sessions = head, map[string]fairway.Actor{}, map[string]fairway.Token{}, map[string]sessionCred{}
}

// actor returns a copy of the actor named, if it is kept for head.
func (c *identities) actor(head headKey, name string) (*fairway.Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at != head {
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
	if c.at != head {
		return nil, nil, false
	}
	k, ok := c.tokens[hash]
	if !ok {
		return nil, nil, false
	}
	a, ok := c.actors[k.Actor]
	return &a, &k, ok
}

// session returns the session a credential hash names and a copy of its
// actor, if both are kept for head.
func (c *identities) session(head headKey, hash string) (sessionCred, *fairway.Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at != head {
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
	}
}

// appended follows an event this ledger appended, moving the head from
// before to after inside a write transaction: what is kept stays valid
// when the event changes no identity, and is dropped when it may. The
// write may still roll back; the head then goes back to one this cache
// does not name, and the next use empties it.
func (c *identities) appended(before, after headKey, action string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == before && c.actors != nil && !changesIdentity(action) {
		c.at = after
		return
	}
	c.at, c.actors, c.tokens, c.sessions = after, map[string]fairway.Actor{}, map[string]fairway.Token{}, map[string]sessionCred{}
}
