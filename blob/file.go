// Package blob stores evidence bytes by content. FileStore keeps them in a
// folder; other backends (S3-compatible object storage) implement the same
// fairway.BlobStore.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fairway"
)

// FileStore keeps blobs under root as sha256/ab/cdef…; staged bytes live
// in root/tmp until committed.
type FileStore struct {
	root string
	// CreateTemp makes the staging file; tests replace it to simulate a
	// full disk.
	CreateTemp func(dir, pattern string) (File, error)
}

// File is what staging writes to.
type File interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

var _ fairway.BlobStore = (*FileStore)(nil)

// StaleStaging is how old a staged file must be before a new FileStore
// removes it as left behind by a crash; younger ones may belong to an
// upload still running in another process.
const StaleStaging = 24 * time.Hour

// NewFileStore returns a store rooted at root, creating its folders and
// clearing staged files that a crashed process left behind.
func NewFileStore(root string) (*FileStore, error) {
	for _, dir := range []string{filepath.Join(root, "sha256"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if entries, err := os.ReadDir(filepath.Join(root, "tmp")); err == nil {
		for _, e := range entries {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > StaleStaging {
				os.Remove(filepath.Join(root, "tmp", e.Name()))
			}
		}
	}
	return &FileStore{root: root, CreateTemp: func(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }}, nil
}

func (s *FileStore) path(digest string) (string, error) {
	if err := fairway.ValidateDigest("digest", digest); err != nil {
		return "", err
	}
	hexd := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(s.root, "sha256", hexd[:2], hexd), nil
}

// Create starts staging a blob in root/tmp.
func (s *FileStore) Create(ctx context.Context) (fairway.BlobWriter, error) {
	f, err := s.CreateTemp(filepath.Join(s.root, "tmp"), "stage-*")
	if err != nil {
		return nil, fmt.Errorf("stage blob: %w", err)
	}
	return &fileWriter{s: s, f: f, h: sha256.New()}, nil
}

// Open reads a blob.
func (s *FileStore) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	p, err := s.path(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "blob %s is not in the store", digest)
	}
	return f, err
}

// Stat returns a blob's size.
func (s *FileStore) Stat(ctx context.Context, digest string) (int64, error) {
	p, err := s.path(digest)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fairway.Errorf(fairway.ENOTFOUND, "blob %s is not in the store", digest)
	} else if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Remove deletes a blob.
func (s *FileStore) Remove(ctx context.Context, digest string) error {
	p, err := s.path(digest)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

type fileWriter struct {
	s    *FileStore
	f    File
	h    hash.Hash
	size int64
	// flushed is how far writeback has been started.
	flushed int64
	err     error
	done    bool
}

// writebackStep is how much is written before writeback of it starts.
const writebackStep = 8 << 20

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	if w.size-w.flushed >= writebackStep {
		startWriteback(w.f, w.flushed, w.size-w.flushed)
		w.flushed = w.size
	}
	if err != nil {
		w.err = fmt.Errorf("write blob: %w", err)
		return n, w.err
	}
	return n, nil
}

func (w *fileWriter) Digest() string { return "sha256:" + hex.EncodeToString(w.h.Sum(nil)) }
func (w *fileWriter) Size() int64    { return w.size }

// Reader reopens the staged file; the page cache serves what was
// written, so no fsync is needed to read it back.
func (w *fileWriter) Reader() (io.ReadCloser, error) {
	return os.Open(w.f.Name())
}

// Commit fsyncs the staged file, renames it to its digest and fsyncs the
// folder, so the name appears only for complete bytes.
func (w *fileWriter) Commit(ctx context.Context) (bool, error) {
	if w.done {
		return false, errors.New("blob already committed or aborted")
	}
	if w.err != nil {
		w.Abort()
		return false, w.err
	}
	w.done = true
	final, err := w.s.path(w.Digest())
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(final); err == nil {
		// Same bytes already stored and durable: content addressing makes
		// this a no-op, and saves the fsyncs.
		w.discard()
		return false, nil
	}
	if err := w.f.Sync(); err != nil {
		w.discard()
		return false, fmt.Errorf("sync blob: %w", err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return false, fmt.Errorf("close blob: %w", err)
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		os.Remove(w.f.Name())
		return false, err
	}
	if err := os.Rename(w.f.Name(), final); err != nil {
		os.Remove(w.f.Name())
		return false, err
	}
	if err := syncDir(dir); err != nil {
		return true, err
	}
	return true, nil
}

func (w *fileWriter) discard() {
	w.f.Close()
	os.Remove(w.f.Name())
}

func (w *fileWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.discard()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
