package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// LogStream produces size bytes of realistic log text without holding
// them: the input for ingest measurements.
type LogStream struct {
	size, done int64
	line       int64
	buf        []byte
	off        int // start of the unread part of buf
}

// NewLogStream returns a stream of size bytes.
func NewLogStream(size int64) *LogStream { return &LogStream{size: size} }

// Read fills p with the next log lines.
func (s *LogStream) Read(p []byte) (int, error) {
	if s.done >= s.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.done < s.size {
		if s.off == len(s.buf) {
			s.line++
			s.off = 0
			s.buf = strconv.AppendInt(s.buf[:0], s.line, 10)
			s.buf = append(s.buf, " 2026-11-29T10:00:00Z INFO kind-smoke request path=/v1/allocations status=200 took=12ms node=gpu-"...)
			s.buf = strconv.AppendInt(s.buf, s.line%97, 10)
			s.buf = append(s.buf, '\n')
		}
		c := copy(p[n:], s.buf[s.off:])
		if rest := s.size - s.done; int64(c) > rest {
			c = int(rest)
		}
		s.off += c
		n += c
		s.done += int64(c)
	}
	return n, nil
}

// HashOnly reads size bytes of the log stream through SHA-256: the
// baseline for ingest.
func HashOnly(size int64) error {
	_, err := io.CopyBuffer(sha256.New(), NewLogStream(size), make([]byte, 1<<20))
	return err
}

// WriteOnly writes size bytes of the log stream to a file in dir and
// fsyncs it: the disk's own floor for durable ingest.
func WriteOnly(dir string, size int64) error {
	f, err := os.CreateTemp(dir, "write-only-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.CopyBuffer(f, NewLogStream(size), make([]byte, 1<<20)); err != nil {
		return err
	}
	return f.Sync()
}

// Ingest records size bytes of the log stream as evidence on a fresh
// store in dir, the whole path of `fairway evidence add`: scan, hash,
// write, fsync, record.
func Ingest(ctx context.Context, dir string, size int64) (*fairway.Evidence, error) {
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	return IngestInto(ctx, dir, size, blobs)
}

// IngestInto is Ingest with the bytes going to blobs (object storage,
// say) and the record to a fresh SQLite store in dir.
func IngestInto(ctx context.Context, dir string, size int64, blobs fairway.BlobStore) (*fairway.Evidence, error) {
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	l := ledger.New(s, blobs)
	a, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman})
	if err != nil {
		return nil, err
	}
	as := fairway.NewContextWithActor(ctx, a.Actor)
	if _, err := l.CreateTask(as, fairway.TaskCreate{Key: "INGEST-1", Title: "ingest"}); err != nil {
		return nil, err
	}
	return l.AddEvidence(as, fairway.EvidenceAdd{Task: "INGEST-1", Kind: "log", Filename: "big.log"}, fairway.EvidenceParts{Content: NewLogStream(size)})
}

// PeakRSS returns this process's peak resident memory in bytes, from
// /proc/self/status (VmHWM). Unlike the rusage a parent reads, it does not
// include the parent's memory at the moment of exec.
func PeakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
