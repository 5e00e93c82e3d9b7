// Package postgres is Fairway's store on PostgreSQL, for several replicas
// sharing one database.
//
// Writes are serialized across every replica: a replica's writer takes a
// session advisory lock on the store's schema, then runs a batch of queued
// writes (each in its own savepoint; the writes queued while it waited for
// the lock join the batch) in one SERIALIZABLE transaction, and commits
// them with one fsync. Taking the lock before the transaction
// starts means its snapshot already holds every earlier commit, so the
// audit head it reads is the real head and the chain cannot fork; the
// SERIALIZABLE level is the second guard, catching anything that reaches
// the tables without the lock. A serialization failure or deadlock
// (40001, 40P01) reruns the whole batch, so a function given to Update may
// run more than once and must not keep state between runs.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"fairway"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune a Store.
type Options struct {
	// Schema holds the store's tables; it is created if missing. Empty
	// means the connection's current schema (the URL may set
	// search_path).
	Schema string
	// MaxBatch caps how many queued writes share one commit. 1 turns group
	// commit off. Zero means DefaultMaxBatch.
	MaxBatch int
	// MaxRetries caps how often a batch that failed to serialize is run
	// again. Zero means DefaultMaxRetries.
	MaxRetries int
}

// DefaultMaxBatch is the default cap on writes per commit.
const DefaultMaxBatch = 256

// DefaultMaxRetries is the default cap on reruns of a batch.
const DefaultMaxRetries = 20

// Advisory lock classes; the second key is a hash of the schema name, so
// stores in different schemas of one database do not wait on each other.
const (
	lockMigrate int32 = 0x46574d00 // "FWM"
	lockWrite   int32 = 0x46575700 // "FWW"
)

// Store is a fairway.Store on one PostgreSQL schema.
type Store struct {
	pool       *pgxpool.Pool
	connConfig *pgx.ConnConfig
	schema     string
	lockKey    int32
	writes     chan *writeRequest
	maxBatch   int
	maxRetries int

	// listening ends every Changes listener when the store closes.
	listening     context.Context
	stopListening context.CancelFunc
	listeners     sync.WaitGroup
	closing       sync.RWMutex // held for reading while a write is queued
	closed        bool
	closeOnce     sync.Once
	quit          chan struct{}
	stopped       chan struct{}

	stats fairway.WriteRecorder
}

type writeRequest struct {
	ctx  context.Context
	fn   func(fairway.Tx) error
	done chan error
}

var (
	_ fairway.Store         = (*Store)(nil)
	_ fairway.StoreHealth   = (*Store)(nil)
	_ fairway.HeadKeyReader = (*Store)(nil)
)

// Open connects to the database at url (postgres://…), creates the schema
// if asked, and applies any migrations it lacks.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fairway.FieldError("store", "is not a PostgreSQL URL: %v", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s := &Store{
		pool: pool, connConfig: cfg.ConnConfig, schema: opts.Schema,
		writes: make(chan *writeRequest, 4*opts.MaxBatch), maxBatch: opts.MaxBatch, maxRetries: opts.MaxRetries,
		quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	s.listening, s.stopListening = context.WithCancel(context.Background())
	if err := s.migrate(ctx); err != nil {
		s.stopListening()
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	go s.writeLoop()
	return s, nil
}

// Schema returns the schema holding the store's tables.
func (s *Store) Schema() string { return s.schema }

// Close stops the writer after the writes already queued and closes the
// pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// No write may be queued once the writer has been told to stop:
		// it drains the queue and then exits.
		s.closing.Lock()
		s.closed = true
		close(s.quit)
		s.closing.Unlock()
		<-s.stopped
		s.stopListening()
		s.listeners.Wait()
		s.pool.Close()
	})
	return nil
}

func schemaKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, under an advisory lock so that replicas starting together
// apply each exactly once.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Release()
	create := s.schema != ""
	if !create {
		var current *string
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
			return err
		}
		if current == nil {
			return fairway.Errorf(fairway.EINVALID, "no schema on the connection's search_path exists; create one or name one with ?search_path=")
		}
		s.schema = *current
	}
	s.lockKey = schemaKey(s.schema)
	unlock, err := advisoryLock(ctx, conn, lockMigrate, s.lockKey)
	if err != nil {
		return err
	}
	defer unlock()
	if create {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(t pgx.Tx) error {
			var n int
			if err := t.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			// Without arguments pgx sends the file as one simple query,
			// so it may hold many statements.
			if _, err := t.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := t.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, version, base, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// advisoryLock takes a session advisory lock on conn and returns its
// release. A lock that cannot be released closes the connection, which
// releases it too.
func advisoryLock(ctx context.Context, conn *pgxpool.Conn, class, key int32) (func(), error) {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, class, key); err != nil {
		return nil, err
	}
	return func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, class, key); err != nil {
			conn.Conn().Close(context.Background())
		}
	}, nil
}

// View runs fn in a read-only transaction on one snapshot.
func (s *Store) View(ctx context.Context, fn func(fairway.Tx) error) error {
	t, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return mapErr(err)
	}
	defer t.Rollback(context.Background())
	return fn(&tx{ctx: ctx, q: t})
}

// Update queues fn for the writer and waits until its batch is committed.
func (s *Store) Update(ctx context.Context, fn func(fairway.Tx) error) error {
	req := &writeRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.closing.RLock()
	if s.closed {
		s.closing.RUnlock()
		return fairway.Errorf(fairway.EINTERNAL, "store is closed")
	}
	select {
	case s.writes <- req:
		s.closing.RUnlock()
	case <-ctx.Done():
		s.closing.RUnlock()
		return ctx.Err()
	}
	// Once queued, the write is either committed or refused as a whole;
	// waiting for the answer keeps acknowledgement honest.
	return <-req.done
}

// writeLoop takes every write queued at the moment and commits them
// together.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	batch := make([]*writeRequest, 0, s.maxBatch)
	for {
		select {
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.quit:
			for {
				select {
				case req := <-s.writes:
					s.commit([]*writeRequest{req})
				default:
					return
				}
			}
		}
		s.commit(s.drain(batch))
	}
}

// drain adds the writes queued at the moment to batch, up to its cap.
func (s *Store) drain(batch []*writeRequest) []*writeRequest {
	for len(batch) < s.maxBatch {
		select {
		case req := <-s.writes:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// commit runs a batch, again from the start while it fails to serialize,
// and answers every write in it.
func (s *Store) commit(batch []*writeRequest) {
	var results []error
	var err error
	start := time.Now()
	// The first run takes no savepoints, saving two round trips a write;
	// if a write fails, the batch runs again with them.
	savepoints := false
	for attempt := 0; ; attempt++ {
		results, err = s.attempt(&batch, savepoints)
		if errors.Is(err, errNeedSavepoints) {
			savepoints = true
			continue
		}
		if !isRetryable(err) {
			break
		}
		s.stats.Retried()
		if attempt >= s.maxRetries {
			err = fairway.Errorf(fairway.ECONFLICT, "the write could not be serialized with concurrent writes after %d attempts; try again", attempt+1)
			break
		}
		// Jittered backoff keeps replicas that collided from colliding
		// again in step.
		time.Sleep(time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond)
	}
	// The figures are recorded before anyone hears back, so a caller that
	// reads them after its write sees it counted.
	committed := 0
	for i := range batch {
		if err == nil && (results == nil || results[i] == nil) {
			committed++
		}
	}
	if committed > 0 {
		s.stats.Committed(committed, time.Since(start))
	}
	for i, req := range batch {
		if results != nil && results[i] != nil {
			req.done <- results[i]
		} else {
			req.done <- err
		}
	}
}

// errNeedSavepoints says a write of a batch run without savepoints failed,
// so the batch must run again with them.
var errNeedSavepoints = errors.New("a write failed in a batch without savepoints")

// batchState is what one write transaction keeps beside the database.
type batchState struct {
	// head is the audit head inside the batch; headDirty says it must be
	// stored before the commit.
	head      *fairway.AuditHead
	headDirty bool
	// retry holds a serialization failure seen by any statement: the
	// transaction is then lost, whatever fn made of the error.
	retry error
}

// attempt runs the batch once. It returns each write's own error, and an
// error for the batch as a whole (retryable or not). Without savepoints a
// failing write rolls back the whole batch.
func (s *Store) attempt(grow *[]*writeRequest, savepoints bool) ([]error, error) {
	ctx := context.Background()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	defer conn.Release()
	unlock, err := advisoryLock(ctx, conn, lockWrite, s.lockKey)
	if err != nil {
		return nil, mapErr(err)
	}
	defer unlock()
	// While this replica waited for the lock (other replicas' batches),
	// more writes were queued: they join this batch and its commit.
	*grow = s.drain(*grow)
	batch := *grow
	results := make([]error, len(batch))
	pgtx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, mapErr(err)
	}
	defer pgtx.Rollback(ctx)
	st := &batchState{}
	t := &tx{ctx: ctx, q: pgtx, w: st}
	// A lone write needs no savepoint: if it fails the whole transaction
	// is rolled back, and that is its answer.
	lone := len(batch) == 1
	savepoints = savepoints && !lone
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if savepoints {
			if _, err := pgtx.Exec(ctx, "SAVEPOINT write"); err != nil {
				return nil, mapErr(err)
			}
		}
		head, dirty := st.head, st.headDirty
		err := runSafely(req.fn, t)
		if st.retry != nil {
			return nil, st.retry
		}
		if err == nil {
			if savepoints {
				if _, err := pgtx.Exec(ctx, "RELEASE SAVEPOINT write"); err != nil {
					return nil, mapErr(err)
				}
			}
			continue
		}
		results[i] = err
		st.head, st.headDirty = head, dirty
		if lone {
			return results, nil
		}
		if !savepoints {
			return nil, errNeedSavepoints
		}
		if _, err := pgtx.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); err != nil {
			return nil, mapErr(err)
		}
	}
	if err := t.storeHead(); err != nil {
		return nil, err
	}
	if err := pgtx.Commit(ctx); err != nil {
		if isRetryable(err) {
			return nil, err
		}
		return results, mapErr(err)
	}
	return results, nil
}

func runSafely(fn func(fairway.Tx) error, t fairway.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return fn(t)
}

// PostgreSQL error codes the store acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeLockNotAvailable     = "55P03"
	codeDiskFull             = "53100"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isRetryable reports a failure that running the transaction again can
// cure.
func isRetryable(err error) bool {
	c := pgCode(err)
	return c == codeSerializationFailure || c == codeDeadlockDetected
}

// mapErr turns the database's errors the user can act on into Fairway
// errors; others pass through as internal.
func mapErr(err error) error {
	switch pgCode(err) {
	case codeUniqueViolation:
		var pe *pgconn.PgError
		errors.As(err, &pe)
		return fairway.Errorf(fairway.ECONFLICT, "a row with that key already exists (%s)", pe.ConstraintName)
	case codeLockNotAvailable:
		return fairway.Errorf(fairway.ECONFLICT, "the store is locked by another writer for too long; try again")
	case codeDiskFull:
		return fairway.Errorf(fairway.EINTERNAL, "the database's disk is full; nothing was written")
	}
	return err
}

// latestMigration is the number of the newest embedded migration.
func latestMigration() int { return fairway.LatestMigration(migrations, "migrations/*.sql") }

// Ready checks that the database answers and that its schema is at this
// build's newest migration: a replica of an older or newer build than
// the schema is not ready.
func (s *Store) Ready(ctx context.Context) error {
	var version int
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fairway.Errorf(fairway.EINTERNAL, "the database does not answer: %v", err)
	}
	return fairway.SchemaCurrent(version, latestMigration())
}

// Stats returns the store's write figures and its pool's use.
func (s *Store) Stats() fairway.StoreStats {
	st := s.stats.Stats()
	p := s.pool.Stat()
	st.Pool = &fairway.PoolStats{
		Max: p.MaxConns(), Total: p.TotalConns(), Idle: p.IdleConns(), Acquired: p.AcquiredConns(),
		Acquires: p.AcquireCount(), Waited: p.EmptyAcquireCount(), WaitSeconds: p.EmptyAcquireWaitTime().Seconds(),
	}
	return st
}
