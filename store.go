package fairway

import (
	"context"
	"encoding/json"
	"time"
)

// Service is everything the ledger offers. The ledger package implements it
// over a Store; the http package's Client implements it over the network, so
// the CLI works the same against either.
type Service interface {
	TaskService
	LaneService
	ActorService
	AuditService
	EvidenceService
	GovernanceService
	NarrowingService
	ScopeService
	SessionService
	DeployService
	PlanService
	WebhookService
	TreeService
	SearchService
}

// Store is the persistence the ledger's rules sit on: reads and writes in
// transactions, nothing more. Every store passes the storetest suite.
//
// The contract every store keeps:
//   - The function given to Update may run more than once (a store may
//     retry a transaction that failed to serialize, as PostgreSQL does),
//     so it must have no effect outside the transaction: no blob or
//     network I/O, no writes to variables that outlive a failed attempt
//     without being reset at its start.
//   - Writes are serialized with respect to the audit log: an AuditHead
//     followed by AppendAudit in one transaction never races another's,
//     so the log stays one linear chain across processes.
//   - Getters return an ENOTFOUND *Error when the row is absent; inserts
//     return ECONFLICT when the key is taken, and leave the transaction
//     usable.
//   - Evidence, reviews and audit events are never updated or deleted;
//     the store refuses it in the database itself where it can.
//   - No rule runs in a store: the ledger computes (the next proof link,
//     the next audit event) and the store keeps what it is given.
type Store interface {
	// View runs fn in a read-only transaction with a consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. When fn returns nil the
	// changes are durable once Update returns nil; when fn returns an
	// error nothing it wrote is kept.
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// ChangeNotifier is implemented by a store that can tell, without
// polling, that another process appended audit events (PostgreSQL's
// LISTEN/NOTIFY). The channel receives after such commits and is closed
// when ctx ends or the store can no longer listen.
type ChangeNotifier interface {
	Changes(ctx context.Context) (<-chan struct{}, error)
}

// HeadHoldingStore is implemented by a store whose write transactions
// hold the audit head from their start and read it at no cost (SQLite's
// one writer keeps it in memory for a batch). Over such a store the
// ledger keeps the actors and token hashes it has read, each valid at the
// audit head it was read at: checking the head is cheaper than reading
// them. A store that would lock the head earlier to answer (PostgreSQL's
// SELECT ... FOR UPDATE) does not implement it.
type HeadHoldingStore interface {
	WritesHoldTheHead() bool
}

// HeadKeyReader is implemented by a store that reads the audit head's
// sequence and chain hash in one statement of its own, outside any
// transaction. The ledger asks it whether the head moved before every
// request's identity check, which a read transaction cost more than the
// check itself.
type HeadKeyReader interface {
	AuditHeadKey(ctx context.Context) (seq int64, hash string, err error)
}

// Tx is one store transaction: one interface per entity, as the stores
// and the storetest suite have one file per entity.
type Tx interface {
	TaskTx
	DependencyTx
	LaneTx
	ActorTx
	EvidenceTx
	GovernanceTx
	NarrowingTx
	ScopeTx
	SessionTx
	DeployTx
	AuditTx
	SearchTx
	DumpTx
}

// SearchTx finds records by their words. Stores index the SearchDoc of
// every task, claim, evidence record and session handoff themselves, in
// the transaction that writes the record, so the index never lags.
type SearchTx interface {
	// Search returns the records holding every word of q.Text
	// (SearchTerms), filtered by kind and by their task's lane, best
	// first, at most q.Limit. q is valid.
	Search(q SearchQuery) ([]*SearchHit, error)
}

// TaskTx stores tasks.
type TaskTx interface {
	InsertTask(t *Task) error
	UpdateTask(t *Task) error
	Task(key string) (*Task, error)
	Tasks(f TaskFilter) ([]*Task, error)
	// WatchingTasks returns the tasks, neither done nor cancelled, whose
	// watch (WatchOf) names repo, by key: read from an index of such
	// tasks, however many others the ledger holds.
	WatchingTasks(repo string) ([]*Task, error)
	// CountTasksByStatus counts a lane's tasks per status; every lane when
	// lane is empty.
	CountTasksByStatus(lane string) (map[string]int, error)
	// WaitReasons returns the distinct wait reasons of a lane's blocked
	// tasks.
	WaitReasons(lane string) ([]string, error)
}

// DependencyTx stores dependency edges and the ready index they drive.
type DependencyTx interface {
	InsertDependency(blocked, blocker string) error
	DeleteDependency(blocked, blocker string) error
	// Blockers returns the keys that key depends on.
	Blockers(key string) ([]string, error)
	// Blocking returns the keys that depend on key.
	Blocking(key string) ([]string, error)
	// DependsOn reports whether from depends on to, directly or through
	// other tasks: one query, however many ancestors from has.
	DependsOn(from, to string) (bool, error)
	// ReadyTasks returns open tasks none of whose blockers is unfinished,
	// ordered by priority (0 first), risk (critical first), then age.
	ReadyTasks(f NextFilter) ([]*Task, error)
	// CountReady counts what ReadyTasks would return without a limit.
	CountReady(lane string) (int, error)
}

// LaneTx stores lanes.
type LaneTx interface {
	InsertLane(l *Lane) error
	Lane(name string) (*Lane, error)
	Lanes() ([]*Lane, error)
	// NextLaneSeq increments and returns the lane's key counter.
	NextLaneSeq(name string) (int64, error)
}

// ActorTx stores actors and the hashes of their tokens.
type ActorTx interface {
	InsertActor(a *Actor) error
	Actor(name string) (*Actor, error)
	Actors() ([]*Actor, error)
	CountActors() (int, error)
	// UpdateActor stores an actor's disabled state and identity binding;
	// ECONFLICT when the identity is bound to another actor.
	UpdateActor(a *Actor) error
	// InsertToken stores a bearer token's hash and what is known of it:
	// its actor, when it was made, until when it works, whether a login
	// link minted it. Its id is TokenID(hash), set on t.
	InsertToken(hash string, t *Token) error
	// ActorByTokenHash finds the actor of a token that is not revoked,
	// and the token; EUNAUTHORIZED when none. Whether it expired is the
	// caller's question: the store does not read the clock.
	ActorByTokenHash(tokenHash string) (*Actor, *Token, error)
	// RevokeTokens revokes an actor's live tokens and counts them.
	RevokeTokens(actor string, at time.Time) (int, error)
	// RevokeToken revokes one token that is not revoked yet; ENOTFOUND
	// when there is none with that id.
	RevokeToken(id string, at time.Time) error
	// Token returns a bearer token (never a login link) by id, revoked or
	// not; ENOTFOUND when there is none.
	Token(id string) (*Token, error)
	// Tokens lists an actor's bearer tokens not revoked, expired or not,
	// oldest first.
	Tokens(actor string) ([]*Token, error)
	// TokensIssuedWith lists the bearer tokens not revoked that the
	// credential with that id issued, oldest first.
	TokensIssuedWith(id string) ([]*Token, error)
	// LiveTokens maps the hash of each of an actor's tokens not revoked
	// to its expiry (zero when it has none).
	LiveTokens(actor string) (map[string]time.Time, error)
	// ActorByIdentity finds the actor bound to an issuer and subject.
	ActorByIdentity(issuer, subject string) (*Actor, error)
	// InsertLoginLink stores the hash of a one-time portal login link of
	// an actor, made at at and good until expires; the token it mints
	// lives tokenTTL and is issued by issuedBy.
	// A login link is never a bearer token: ActorByTokenHash, Token,
	// Tokens and LiveTokens leave it out.
	InsertLoginLink(hash, actor, issuedBy string, at, expires time.Time, tokenTTL time.Duration) error
	// UseLoginLink spends a login link at at and returns its actor, the
	// life of the token it mints (zero for a link stored without one) and
	// who that token is issued by; EUNAUTHORIZED when it is unknown,
	// used, revoked or expired.
	UseLoginLink(hash string, at time.Time) (*Actor, time.Duration, string, error)
}

// EvidenceTx stores evidence records (never their bytes) and claims.
type EvidenceTx interface {
	// InsertEvidence stores an evidence record. When link is not nil it
	// becomes the head of the task's proof chain, as given: the ledger
	// computes it (ChainProof), the store only keeps it. Records are
	// never updated or deleted.
	InsertEvidence(e *Evidence, link *ProofLink) error
	// ProofChain returns how many proof records a task has and the head
	// of its chain.
	ProofChain(task string) (count int, chain string, err error)
	// LatestProof returns a task's whole evidence records of a kind that
	// nothing supersedes, newest first: what a gate judges, including
	// exit codes and report summaries.
	LatestProof(task, kind string) ([]*Evidence, error)
	// LatestProofs is LatestProof for several kinds of one task in one
	// query: out[i] is LatestProof(task, kinds[i]).
	LatestProofs(task string, kinds []string) ([][]*Evidence, error)
	// NewestEvidence returns, for each kind, a task's newest record that
	// nothing supersedes, ordered by kind: one query, whatever the number
	// of records.
	NewestEvidence(task string) ([]*Evidence, error)
	// EvidenceRecorders returns who recorded a task's evidence.
	EvidenceRecorders(task string) ([]string, error)
	Evidence(id string) (*Evidence, error)
	EvidenceList(f EvidenceFilter) ([]*Evidence, error)
	InsertClaim(c *Claim) error
	Claims(task string) ([]*Claim, error)
}

// GovernanceTx stores reviews, waivers and governance policies.
type GovernanceTx interface {
	InsertReview(r *Review) error
	Reviews(task string) ([]*Review, error)
	InsertWaiver(w *Waiver) error
	UpdateWaiver(w *Waiver) error
	Waiver(id int64) (*Waiver, error)
	// Waivers lists waivers for a task or for a lane (either may be
	// empty); with both empty, every waiver.
	Waivers(task, lane string) ([]*Waiver, error)
	InsertPolicy(p *PolicyRecord) error
	UpdatePolicy(p *PolicyRecord) error
	// ActivePolicy returns the policy in force; ENOTFOUND when none.
	ActivePolicy() (*PolicyRecord, error)
	// PolicyProposal returns the proposal attached to a task; ENOTFOUND
	// when none.
	PolicyProposal(task string) (*PolicyRecord, error)
}

// NarrowingTx stores proposed narrowings of task gates.
type NarrowingTx interface {
	// InsertNarrowing stores a proposed narrowing and sets its ID.
	InsertNarrowing(n *Narrowing) error
	// UpdateNarrowing stores its approvals and state.
	UpdateNarrowing(n *Narrowing) error
	Narrowing(id int64) (*Narrowing, error)
	// Narrowings lists a task's narrowings, oldest first; every task's
	// when task is empty.
	Narrowings(task string) ([]*Narrowing, error)
}

// DeployTx stores deploy-runs, their stages kept whole with the run.
type DeployTx interface {
	// InsertDeployRun stores a new run and sets its ID.
	InsertDeployRun(r *DeployRun) error
	// UpdateDeployRun stores a run's stages, state, decision and
	// follow-ups; ENOTFOUND when it does not exist.
	UpdateDeployRun(r *DeployRun) error
	DeployRun(id int64) (*DeployRun, error)
	// DeployRuns lists runs by task and environment (either may be
	// empty), oldest first.
	DeployRuns(f DeployFilter) ([]*DeployRun, error)
}

// AuditTx stores the audit log, its head, its Merkle tree and checkpoints.
type AuditTx interface {
	AuditHead() (AuditHead, error)
	// AppendAudit stores a sealed event, the tree nodes it completes, and
	// moves the head to it with the tree's new compact range, as given:
	// the ledger computes the tree. Tree nodes are never updated.
	AppendAudit(e *AuditEvent, tree *MerkleAppend) error
	// AppendTree stores the tree nodes of event seq, already in the log,
	// and moves the head's tree to it: how a log older than its tree is
	// caught up.
	AppendTree(seq int64, tree *MerkleAppend) error
	// MerkleHashes returns the hashes of complete tree nodes in the order
	// asked; ENOTFOUND when one is absent.
	MerkleHashes(ids []MerkleNodeID) ([][]byte, error)
	// InsertCheckpoint stores a checkpoint and sets its ID; ECONFLICT when
	// the same note is stored already.
	InsertCheckpoint(c *Checkpoint) error
	// Checkpoints lists checkpoints newest first (by size, then ID); all
	// of them when limit <= 0.
	Checkpoints(limit int) ([]*Checkpoint, error)
	AuditEvents(f AuditFilter) ([]*AuditEvent, error)
	// EachAuditEvent streams the whole log in sequence order.
	EachAuditEvent(fn func(*AuditEvent) error) error
}

// DecodeJSONColumns decodes pairs of JSON text and target: the columns in
// which the stores keep lists and nested values, decoded the same way by
// every store.
func DecodeJSONColumns(pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		if err := json.Unmarshal([]byte(pairs[i].(string)), pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

type lingerKey struct{}

// WithWriteLinger marks the writes made with ctx as ones that may wait up
// to d for other writes to share their commit: still durable before they
// are acknowledged, only later. For writes nobody waits on, such as lease
// renewals, so that many of them pay for one fsync. A store may ignore it.
func WithWriteLinger(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, lingerKey{}, d)
}

// WriteLinger returns how long a write made with ctx may wait for
// company; zero when it is to commit at once.
func WriteLinger(ctx context.Context) time.Duration {
	d, _ := ctx.Value(lingerKey{}).(time.Duration)
	return d
}
