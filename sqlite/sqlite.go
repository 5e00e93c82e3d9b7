// Package sqlite is Fairway's embedded store: one SQLite file in WAL mode,
// fsynced on every commit, with concurrent writers batched into one commit.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fairway"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune a Store.
type Options struct {
	// MaxBatch caps how many queued writes share one commit. 1 turns group
	// commit off: one fsync per write. Zero means DefaultMaxBatch.
	MaxBatch int
	// BusyTimeout is how long a write waits for another process's write
	// lock. Zero means DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// DefaultMaxBatch is the default cap on writes per commit.
const DefaultMaxBatch = 256

// maxIdleReaders is how many read connections are kept open while idle.
const maxIdleReaders = 64

// DefaultBusyTimeout is the default wait for another process's write lock.
const DefaultBusyTimeout = 30 * time.Second

// Store is a fairway.Store on one SQLite file.
type Store struct {
	path     string
	writeDB  *sql.DB
	readDB   *sql.DB
	writes   chan *writeRequest
	maxBatch int
	// held is how many writes the writer holds while they linger for
	// company (for tests to see).
	held atomic.Int64

	// readStmts caches statements prepared on readDB; database/sql keeps
	// one prepared copy per pooled connection behind each.
	readStmts sync.Map // query → *sql.Stmt

	closing   sync.RWMutex // held for reading while a write is queued
	closed    bool
	closeOnce sync.Once
	quit      chan struct{}
	stopped   chan struct{}

	stats fairway.WriteRecorder
}

type writeRequest struct {
	ctx  context.Context
	fn   func(fairway.Tx) error
	done chan error
	// linger is how long the write may wait for others to share its
	// commit (fairway.WithWriteLinger); zero commits as soon as it can.
	linger time.Duration
}

var (
	_ fairway.Store         = (*Store)(nil)
	_ fairway.StoreHealth   = (*Store)(nil)
	_ fairway.HeadKeyReader = (*Store)(nil)
)

// Open opens (creating if needed) the database at path and applies any
// migrations it lacks.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create store folder: %w", err)
		}
	}
	// synchronous(FULL) in WAL mode fsyncs the log on every commit: an
	// acknowledged write survives a power cut. Group commit pays that
	// fsync once for many writers.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Each queued write runs in a savepoint of the batch's transaction,
	// and SQLite keeps the pages a savepoint changed in a sub-journal that
	// spills to a temporary file past 64 KiB: a batch of writes paid a
	// pwrite per page for it. In memory it is a copy.
	q.Add("_pragma", "temp_store(MEMORY)")
	// The WAL is written through walVFSName: a commit's frames in one
	// write rather than two system calls a frame.
	if err := registerWALVFS(); err != nil {
		return nil, err
	}
	q.Add("vfs", walVFSName)
	dsn := "file:" + path + "?" + q.Encode()

	writeDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	writeDB.SetMaxOpenConns(1)
	writeDB.SetConnMaxLifetime(0)
	writeDB.SetConnMaxIdleTime(0)
	readDB, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		writeDB.Close()
		return nil, err
	}
	// No cap on readers: a read transaction that prepares its first
	// statement asks the pool for a connection while holding its own, so
	// a cap could leave every reader waiting on every other. Idle ones
	// are kept as many as a busy server's requests use at once: each new
	// connection parses the whole schema and prepares its statements
	// again, and with 8 kept, 32 clients paid that for a quarter of their
	// requests. They are closed after a minute unused.
	readDB.SetMaxOpenConns(0)
	readDB.SetMaxIdleConns(maxIdleReaders)
	readDB.SetConnMaxIdleTime(time.Minute)

	s := &Store{
		path: path, writeDB: writeDB, readDB: readDB,
		writes: make(chan *writeRequest, 4*opts.MaxBatch), maxBatch: opts.MaxBatch,
		quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	if err := s.migrate(ctx); err != nil {
		writeDB.Close()
		readDB.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	go s.writeLoop()
	return s, nil
}

// WritesHoldTheHead says a write batch holds the write lock and keeps
// the audit head in memory (fairway.HeadHoldingStore).
func (s *Store) WritesHoldTheHead() bool { return true }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close stops the writer after the writes already queued and closes the
// database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// No write may be queued once the writer has been told to stop:
		// it drains the queue and then exits, and a later write would
		// wait for an answer forever.
		s.closing.Lock()
		s.closed = true
		close(s.quit)
		s.closing.Unlock()
	})
	<-s.stopped
	s.readStmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	err1 := s.readDB.Close()
	err2 := s.writeDB.Close()
	return errors.Join(err1, err2)
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, taking the write lock first so concurrent processes agree.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	// A store that is current is seen through a read connection, which
	// the process's reads then reuse: a read-only command never opens
	// the write connection (each connection parses the whole schema).
	var current int
	if err := s.readDB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&current); err == nil && current == len(names) {
		return nil
	}
	conn, err := s.writeDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var applied int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return err
	}
	if applied == len(names) {
		return nil
	}
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = withConnTx(ctx, conn, func() error {
			var n int
			if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := conn.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, version, base, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func withConnTx(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	return nil
}

// View runs fn in a read transaction.
func (s *Store) View(ctx context.Context, fn func(fairway.Tx) error) error {
	sqlTx, err := s.readDB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr(err)
	}
	defer sqlTx.Rollback()
	return fn(&tx{ctx: ctx, q: &readQuerier{s: s, tx: sqlTx}})
}

// Update queues fn for the writer and waits until its batch is committed.
func (s *Store) Update(ctx context.Context, fn func(fairway.Tx) error) error {
	req := &writeRequest{ctx: ctx, fn: fn, done: make(chan error, 1), linger: fairway.WriteLinger(ctx)}
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

// writeLoop owns the write connection. It takes every write queued at the
// moment, runs each in its own savepoint inside one transaction, and commits
// them with a single fsync.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	w := &writer{s: s, stmts: map[string]*sql.Stmt{}}
	defer w.close()
	batch := make([]*writeRequest, 0, s.maxBatch)
	for {
		select {
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.quit:
			for {
				select {
				case req := <-s.writes:
					w.commitSafely([]*writeRequest{req})
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < s.maxBatch {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		batch = s.linger(batch)
		w.commitSafely(batch)
	}
}

// linger holds a batch whose every write may wait (fairway.WithWriteLinger)
// for more writes to share its commit and fsync, up to the shortest wait
// any of them allows; a write that may not wait ends the wait.
func (s *Store) linger(batch []*writeRequest) []*writeRequest {
	var wait time.Duration
	for _, r := range batch {
		if r.linger <= 0 {
			return batch
		}
		if wait == 0 || r.linger < wait {
			wait = r.linger
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	defer s.held.Store(0)
	for len(batch) < s.maxBatch {
		s.held.Store(int64(len(batch)))
		select {
		case req := <-s.writes:
			batch = append(batch, req)
			if req.linger <= 0 {
				return batch
			}
		case <-timer.C:
			return batch
		case <-s.quit:
			return batch
		}
	}
	return batch
}

// writer holds the one write connection and its prepared statements.
// Keeping both for the store's life saves SQLite from parsing the same
// SQL for every write.
type writer struct {
	s     *Store
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	// head is the audit head inside the current batch; headDirty says it
	// must be stored before the commit.
	head      *fairway.AuditHead
	headDirty bool
	// docs are the search texts the batch's writes changed, indexed
	// together before the commit.
	docs []fairway.SearchDoc
	// nodes are the audit tree nodes the batch's writes completed,
	// stored together before the commit.
	nodes []fairway.MerkleNode
	// careful counts the batches that still run each write in a
	// savepoint, after one whose write failed.
	careful int
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
	if w.conn != nil {
		w.conn.Close()
	}
}

// ExecContext runs a cached statement on the write connection.
func (w *writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs a cached query on the write connection.
func (w *writer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs a cached single-row query on the write connection.
func (w *writer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := w.stmt(ctx, query)
	if err != nil {
		// Let the error surface through Scan, as database/sql does.
		return w.conn.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

// exec runs a transaction-control statement.
func (w *writer) exec(ctx context.Context, query string) error {
	_, err := w.ExecContext(ctx, query)
	return err
}

// commitSafely is commit, with a panic in the writer's own work (a
// write's own panic is runSafely's) failing the writes of the batch
// still unanswered instead of ending the process: the writer serves
// every request of a daemon, which would all end with it.
func (w *writer) commitSafely(batch []*writeRequest) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		w.head, w.headDirty, w.docs, w.nodes = nil, false, nil, nil
		// A transaction still open to roll back means nothing of the
		// batch was committed; else it was rolled back or committed
		// before the panic, and which is not known here.
		what := "it is unknown whether it was committed"
		if w.conn != nil && w.exec(context.Background(), "ROLLBACK") == nil {
			what = "nothing of it was committed"
		}
		err := fairway.Errorf(fairway.EINTERNAL, "the store's writer failed before it answered this write (panic: %v); %s", r, what)
		for _, req := range batch {
			select {
			case req.done <- err:
			default: // answered already
			}
		}
	}()
	w.commit(batch)
}

// testHookCommit, set by tests, runs in a batch's transaction after its
// writes.
var testHookCommit func()

func (w *writer) commit(batch []*writeRequest) {
	s := w.s
	ctx := context.Background()
	results := make([]error, len(batch))
	start := time.Now()
	finish := func(commitErr error) {
		// The figures are recorded before anyone hears back, so a caller
		// that reads them after its write sees it counted.
		committed := 0
		for i := range batch {
			if results[i] == nil {
				results[i] = commitErr
			}
			if results[i] == nil {
				committed++
			}
		}
		if committed > 0 {
			s.stats.Committed(committed, time.Since(start))
		}
		for i, req := range batch {
			req.done <- results[i]
		}
	}
	if w.conn == nil {
		conn, err := s.writeDB.Conn(ctx)
		if err != nil {
			finish(mapErr(err))
			return
		}
		w.conn = conn
	}
	// Writes run without a savepoint each while none fails: a savepoint
	// copies every page a write first touches, a twelfth of a write's
	// cost. When one fails, the batch rolls back and the others run
	// again, each in its savepoint (the store may run a write more than
	// once); the next batches keep savepoints, so failing writes do not
	// make every batch run twice.
	savepoints := w.careful > 0 && len(batch) > 1
	if w.careful > 0 {
		w.careful--
	}
	w.head, w.headDirty, w.docs, w.nodes = nil, false, nil, nil
	defer func() { w.head, w.headDirty, w.docs, w.nodes = nil, false, nil, nil }()
	t := &tx{ctx: ctx, q: w, w: w}
	for {
		if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
			finish(mapErr(err))
			return
		}
		failed, err := w.run(ctx, t, batch, results, savepoints)
		if err != nil {
			_ = w.exec(ctx, "ROLLBACK")
			finish(mapErr(err))
			return
		}
		if !failed {
			break
		}
		w.head, w.headDirty, w.docs, w.nodes = nil, false, nil, nil
		if err := w.exec(ctx, "ROLLBACK"); err != nil {
			finish(mapErr(err))
			return
		}
		w.careful, savepoints = carefulBatches, true
		if !slices.Contains(results, nil) {
			finish(nil) // every write has its answer: none is left to run
			return
		}
	}
	if testHookCommit != nil {
		testHookCommit()
	}
	if err := t.indexDocs(w.docs); err != nil {
		_ = w.exec(ctx, "ROLLBACK")
		finish(mapErr(err))
		return
	}
	if err := t.insertNodesNow(w.nodes); err != nil {
		_ = w.exec(ctx, "ROLLBACK")
		finish(mapErr(err))
		return
	}
	if err := w.storeHead(ctx); err != nil {
		_ = w.exec(ctx, "ROLLBACK")
		finish(mapErr(err))
		return
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		_ = w.exec(ctx, "ROLLBACK")
		finish(mapErr(err))
		return
	}
	finish(nil)
}

// carefulBatches is how many batches after one whose write failed run
// each write in a savepoint.
const carefulBatches = 16

// run runs the batch's writes that have no answer yet in the open
// transaction, putting each failure in results. Without savepoints it
// stops at the first write that fails (failed), for the caller to roll
// the transaction back; with them, a failed write is undone alone. err is
// a failure of the transaction itself.
func (w *writer) run(ctx context.Context, t *tx, batch []*writeRequest, results []error, savepoints bool) (failed bool, err error) {
	for i, req := range batch {
		if results[i] != nil {
			continue
		}
		if err := req.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !savepoints {
			if err := runSafely(req.fn, t); err != nil {
				results[i] = err
				return true, nil
			}
			continue
		}
		if err := w.exec(ctx, "SAVEPOINT write"); err != nil {
			results[i] = mapErr(err)
			continue
		}
		head, dirty, docs, nodes := w.head, w.headDirty, len(w.docs), len(w.nodes)
		if err := runSafely(req.fn, t); err != nil {
			results[i] = err
			w.head, w.headDirty, w.docs, w.nodes = head, dirty, w.docs[:docs], w.nodes[:nodes]
			if err := w.exec(ctx, "ROLLBACK TO write"); err != nil {
				return false, err
			}
		}
		if err := w.exec(ctx, "RELEASE write"); err != nil {
			return false, err
		}
	}
	return false, nil
}

// readQuerier runs cached statements inside one read transaction.
type readQuerier struct {
	s  *Store
	tx *sql.Tx
}

func (r *readQuerier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := r.s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return r.tx.StmtContext(ctx, st), nil
}

// readStmt returns the statement cached for query on readDB, preparing
// it the first time.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.readDB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st, nil
}

// ExecContext is never used on reads but completes the querier.
func (r *readQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a cached query in the read transaction.
func (r *readQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs a cached single-row query in the read transaction.
func (r *readQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func runSafely(fn func(fairway.Tx) error, t fairway.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return fn(t)
}

// mapErr turns SQLite's lock errors into a conflict the user can act on;
// other errors pass through as internal.
func mapErr(err error) error {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			return fairway.Errorf(fairway.ECONFLICT, "the store is locked by another process for too long; try again")
		case sqlite3lib.SQLITE_FULL:
			return fairway.Errorf(fairway.EINTERNAL, "the disk is full; nothing was written")
		}
	}
	return err
}

func isUniqueViolation(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && (se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE)
}

// latestMigration is the number of the newest embedded migration.
func latestMigration() int { return fairway.LatestMigration(migrations, "migrations/*.sql") }

// Ready checks that the database file answers and that its schema is at
// this build's newest migration.
func (s *Store) Ready(ctx context.Context) error {
	var version int
	if err := s.readDB.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fairway.Errorf(fairway.EINTERNAL, "the database does not answer: %v", err)
	}
	return fairway.SchemaCurrent(version, latestMigration())
}

// Stats returns the store's write figures and its readers' pool use.
func (s *Store) Stats() fairway.StoreStats {
	st := s.stats.Stats()
	p := s.readDB.Stats()
	st.Pool = &fairway.PoolStats{
		Max: int32(p.MaxOpenConnections), Total: int32(p.OpenConnections), Idle: int32(p.Idle), Acquired: int32(p.InUse),
		Waited: p.WaitCount, WaitSeconds: p.WaitDuration.Seconds(),
	}
	return st
}
