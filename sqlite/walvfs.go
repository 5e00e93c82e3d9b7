package sqlite

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// walVFSName names a VFS that is SQLite's own unix VFS except for how it
// writes the write-ahead log. SQLite writes each WAL frame as two
// pwrite(2) calls, its 24-byte header and then its page: a commit of 25
// pages cost 50 system calls, about 1.8 µs each on a virtual machine,
// in series on the one writer. This VFS gathers a transaction's
// consecutive frame writes and hands them to the unix VFS as one write
// when the commit frame is complete, or earlier when anything else
// touches the file, and at the latest when the connection gives up the
// WAL's write lock (frames of a transaction that rolled back). What
// reaches the file, and when it is synced, are as before: a commit is
// still in the file before its fsync and before the WAL index shows it
// to readers, and no frame is written once another connection may write.
const walVFSName = "fairway-wal"

// walBufferMax bounds what one WAL file gathers before it writes: the
// unix VFS writes at most 128 KiB less a byte in one call (it masks the
// length to 17 bits), so a larger write would be cut short.
const walBufferMax = 124 << 10

var (
	walVFSOnce sync.Once
	walVFSErr  error
	// walVFS is the registered VFS; SQLite keeps its address.
	walVFS sqlite3.Tsqlite3_vfs
	// unixVFS is SQLite's default VFS, which walVFS wraps.
	unixVFS uintptr

	// walMu guards the method tables below.
	walMu sync.Mutex
	// walFiles are the open WAL files, by their sqlite3_file address
	// (uintptr → *walFile), read on every WAL access without walMu.
	walFiles sync.Map
	// walWrites counts the writes handed to the unix VFS, for tests.
	walWrites atomic.Int64
	// walMethods are the method tables given to WAL files, one per
	// table of the unix VFS they replace, in C memory for SQLite.
	walMethods = map[uintptr]uintptr{}
	// dbMethods are the method tables given to database files, by the
	// unix VFS's table they replace; dbOrig maps them back, read without
	// walMu on every shared-memory lock.
	dbMethods = map[uintptr]uintptr{}
	dbOrig    sync.Map // uintptr → uintptr
)

// walFile is what a WAL file has gathered and not yet written.
type walFile struct {
	orig uintptr // the unix VFS's methods for this file
	// tls is the connection's: SQLite calls a connection's files with
	// the TLS of the connection, the database file's too.
	tls *libc.TLS
	// buf is walBufferMax bytes of C memory, taken at the first write:
	// a reader's WAL never has one.
	buf uintptr
	off int64 // the file offset buf[0] goes to
	n   int32 // bytes gathered
	// commitNext says the last write was a commit frame's header: its
	// page ends the transaction, and the gathered frames are written.
	commitNext bool
	// lastRead is the offset of the last read, if nothing was written
	// since; -1 otherwise.
	lastRead int64
}

// registerWALVFS registers walVFSName once per process.
func registerWALVFS() error {
	walVFSOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		unixVFS = sqlite3.Xsqlite3_vfs_find(tls, 0)
		if unixVFS == 0 {
			walVFSErr = errNoDefaultVFS
			return
		}
		walVFS = *(*sqlite3.Tsqlite3_vfs)(cmem(unixVFS))
		name, err := libc.CString(walVFSName)
		if err != nil {
			walVFSErr = err
			return
		}
		walVFS.FzName, walVFS.FpNext = name, 0
		*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walVFS.FxOpen)) = walOpen
		if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&walVFS)), 0); rc != sqlite3.SQLITE_OK {
			walVFSErr = sqliteCodeError(rc)
		}
	})
	return walVFSErr
}

type sqliteCodeError int32

func (e sqliteCodeError) Error() string {
	tls := libc.NewTLS()
	defer tls.Close()
	return "register the WAL VFS: " + libc.GoString(sqlite3.Xsqlite3_errstr(tls, int32(e)))
}

var errNoDefaultVFS = sqliteCodeError(sqlite3.SQLITE_ERROR)

func walOpen(tls *libc.TLS, _ uintptr, zName uintptr, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	v := (*sqlite3.Tsqlite3_vfs)(cmem(unixVFS))
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{v.FxOpen})))(tls, unixVFS, zName, pFile, flags, pOutFlags)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	file := (*sqlite3.Tsqlite3_file)(cmem(pFile))
	if file.FpMethods == 0 {
		return rc
	}
	if flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0 {
		wrapDB(tls, file)
		return rc
	}
	if flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return rc
	}
	walMu.Lock()
	defer walMu.Unlock()
	methods, ok := walMethods[file.FpMethods]
	if !ok {
		methods = sqlite3.Xsqlite3_malloc(tls, int32(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
		if methods == 0 {
			return rc
		}
		m := (*sqlite3.Tsqlite3_io_methods)(cmem(methods))
		*m = *(*sqlite3.Tsqlite3_io_methods)(cmem(file.FpMethods))
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)) = walClose
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)) = walRead
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = walWrite
		*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)) = walTruncate
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)) = walSync
		*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)) = walFileSize
		*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)) = walFileControl
		walMethods[file.FpMethods] = methods
	}
	walFiles.Store(pFile, &walFile{orig: file.FpMethods, tls: tls, lastRead: -1})
	file.FpMethods = methods
	return rc
}

// wrapDB gives a database file a method table whose xShmLock writes what
// the connection's WAL gathered before it gives up the WAL's write lock.
// A transaction that spilled frames and rolled back ends with them still
// gathered; written later, after another connection committed frames at
// the same offsets, they would overwrite that commit.
func wrapDB(tls *libc.TLS, file *sqlite3.Tsqlite3_file) {
	walMu.Lock()
	defer walMu.Unlock()
	methods, ok := dbMethods[file.FpMethods]
	if !ok {
		orig := (*sqlite3.Tsqlite3_io_methods)(cmem(file.FpMethods))
		if orig.FiVersion < 2 || orig.FxShmLock == 0 {
			return
		}
		methods = sqlite3.Xsqlite3_malloc(tls, int32(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
		if methods == 0 {
			return
		}
		m := (*sqlite3.Tsqlite3_io_methods)(cmem(methods))
		*m = *orig
		*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&m.FxShmLock)) = dbShmLock
		dbMethods[file.FpMethods] = methods
		dbOrig.Store(methods, file.FpMethods)
	}
	file.FpMethods = methods
}

// walWriteLock is the WAL's write lock: SQLite's WAL_WRITE_LOCK, the
// first of the shared memory's locks.
const walWriteLock = 0

func dbShmLock(tls *libc.TLS, pFile uintptr, ofst, n, flags int32) int32 {
	if flags&sqlite3.SQLITE_SHM_UNLOCK != 0 && ofst <= walWriteLock && walWriteLock < ofst+n {
		walFiles.Range(func(p, v any) bool {
			// Only this connection's files: another's belong to the
			// goroutine running it.
			if w := v.(*walFile); w.tls == tls && w.n > 0 {
				// SQLite ignores what an unlock returns. Under
				// synchronous=FULL all that can be gathered here is
				// frames past the last commit, which a failed write
				// loses harmlessly.
				w.flush(tls, p.(uintptr))
			}
			return true
		})
	}
	orig, _ := dbOrig.Load((*sqlite3.Tsqlite3_file)(cmem(pFile)).FpMethods)
	return (*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&struct{ uintptr }{(*sqlite3.Tsqlite3_io_methods)(cmem(orig.(uintptr))).FxShmLock})))(tls, pFile, ofst, n, flags)
}

// cmem is the address of C memory SQLite gave or took as a pointer. It
// reads the integer's bits as a pointer rather than converting it, which
// vet rightly flags for Go memory; none of these point into Go's heap.
func cmem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func walOf(pFile uintptr) *walFile {
	w, _ := walFiles.Load(pFile)
	return w.(*walFile)
}

func (w *walFile) methods() *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cmem(w.orig))
}

// flush writes what the file gathered.
func (w *walFile) flush(tls *libc.TLS, pFile uintptr) int32 {
	w.commitNext = false
	if w.n == 0 {
		return sqlite3.SQLITE_OK
	}
	n := w.n
	w.n = 0
	return w.write(tls, pFile, w.buf, n, w.off)
}

func (w *walFile) write(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	walWrites.Add(1)
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxWrite})))(tls, pFile, buf, n, off)
}

// walFrameHeader is the size of a WAL frame's header; bytes 4 to 8 of it
// are the database's size after a commit, zero in other frames.
const walFrameHeader = 24

func walWrite(tls *libc.TLS, pFile uintptr, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	w := walOf(pFile)
	rewrite := iAmt == walFrameHeader && iOfst == w.lastRead
	w.lastRead = -1
	if rewrite {
		// SQLite rewrites the checksums of frames it has written, each
		// header just after reading its frame back: the page is in the
		// file already, and no write may follow to take the header there
		// (the commit frame's is the last).
		if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
		return w.write(tls, pFile, zBuf, iAmt, iOfst)
	}
	if w.n > 0 && (iOfst != w.off+int64(w.n) || w.n+iAmt > walBufferMax) {
		// A commit frame's page that no longer fits after its header
		// still ends the transaction.
		commitNext := w.commitNext && iOfst == w.off+int64(w.n)
		if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
		w.commitNext = commitNext
	}
	if iAmt > walBufferMax {
		return w.write(tls, pFile, zBuf, iAmt, iOfst)
	}
	if w.buf == 0 {
		if w.buf = sqlite3.Xsqlite3_malloc(tls, walBufferMax); w.buf == 0 {
			// Without a buffer, the unix VFS's own writes.
			return w.write(tls, pFile, zBuf, iAmt, iOfst)
		}
	}
	if w.n == 0 {
		w.off = iOfst
	}
	copy(unsafe.Slice((*byte)(cmem(w.buf+uintptr(w.n))), iAmt), unsafe.Slice((*byte)(cmem(zBuf)), iAmt))
	w.n += iAmt
	if iAmt == walFrameHeader {
		h := unsafe.Slice((*byte)(cmem(zBuf)), walFrameHeader)
		w.commitNext = h[4]|h[5]|h[6]|h[7] != 0
		return sqlite3.SQLITE_OK
	}
	if w.commitNext {
		// The commit frame is whole: the transaction's frames go to
		// the file now, whether or not a sync follows.
		return w.flush(tls, pFile)
	}
	return sqlite3.SQLITE_OK
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	w := walOf(pFile)
	if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxSync})))(tls, pFile, flags)
}

func walRead(tls *libc.TLS, pFile uintptr, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	w := walOf(pFile)
	if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	w.lastRead = iOfst
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxRead})))(tls, pFile, zBuf, iAmt, iOfst)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	w := walOf(pFile)
	if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxTruncate})))(tls, pFile, size)
}

func walFileSize(tls *libc.TLS, pFile uintptr, pSize uintptr) int32 {
	w := walOf(pFile)
	if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxFileSize})))(tls, pFile, pSize)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	w := walOf(pFile)
	if rc := w.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxFileControl})))(tls, pFile, op, pArg)
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	w := walOf(pFile)
	rc := w.flush(tls, pFile)
	walFiles.Delete(pFile)
	// The unix VFS closes the file with its own methods in place.
	(*sqlite3.Tsqlite3_file)(cmem(pFile)).FpMethods = w.orig
	crc := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{w.methods().FxClose})))(tls, pFile)
	if w.buf != 0 {
		sqlite3.Xsqlite3_free(tls, w.buf)
	}
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return crc
}
