package blob_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/blobtest"
)

func putBlob(t *testing.T, s fairway.BlobStore, body []byte) string {
	t.Helper()
	w, err := s.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	if _, err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w.Digest()
}

func readBlob(t *testing.T, s fairway.BlobStore, d string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), d)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCopy(t *testing.T) {
	dsts := []struct {
		name string
		open func(t *testing.T) fairway.BlobStore
	}{
		{"to files", func(t *testing.T) fairway.BlobStore {
			s, err := blob.NewFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"to S3", func(t *testing.T) fairway.BlobStore {
			srv := blobtest.S3(t)
			return openS3(t, s3Options(srv, srv.NewPrefix()))
		}},
	}
	for _, dt := range dsts {
		t.Run(dt.name, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			src, err := blob.NewFileStore(root)
			if err != nil {
				t.Fatal(err)
			}
			dst := dt.open(t)
			bodies := [][]byte{[]byte("rollback plan\n"), {}, bytes.Repeat([]byte("uat log line\n"), 3<<18)}
			var digests []string
			var total int64
			for _, b := range bodies {
				digests = append(digests, putBlob(t, src, b))
				total += int64(len(b))
			}
			var dones []int
			st, err := blob.Copy(ctx, dst, src, digests, func(done int, _ blob.CopyStats) { dones = append(dones, done) })
			if err != nil {
				t.Fatal(err)
			}
			if want := (blob.CopyStats{Copied: 3, Bytes: total}); st != want {
				t.Fatalf("first copy: %+v, want %+v", st, want)
			}
			if !slices.Equal(dones, []int{1, 2, 3}) {
				t.Fatalf("progress calls: %v", dones)
			}
			for i, d := range digests {
				if got := readBlob(t, dst, d); !bytes.Equal(got, bodies[i]) {
					t.Fatalf("blob %d read back as %d bytes, want %d", i, len(got), len(bodies[i]))
				}
			}
			// A second run copies nothing.
			st, err = blob.Copy(ctx, dst, src, digests, nil)
			if err != nil || st != (blob.CopyStats{Skipped: 3}) {
				t.Fatalf("second copy: %+v, %v", st, err)
			}

			// A damaged source blob stops the copy and is not stored.
			good := putBlob(t, src, []byte("copied before the damaged one\n"))
			damaged := putBlob(t, src, []byte("original bytes\n"))
			hexd := strings.TrimPrefix(damaged, "sha256:")
			if err := os.WriteFile(filepath.Join(root, "sha256", hexd[:2], hexd), []byte("tampered bytes\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			st, err = blob.Copy(ctx, dst, src, []string{good, damaged}, nil)
			if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "the source's bytes hash to "+blobtest.Digest([]byte("tampered bytes\n"))) {
				t.Fatalf("copy of a damaged blob: %v", err)
			}
			if st != (blob.CopyStats{Copied: 1, Bytes: int64(len("copied before the damaged one\n"))}) {
				t.Fatalf("copy of a damaged blob: %+v", st)
			}
			if _, err := dst.Stat(ctx, damaged); fairway.ErrorCode(err) != fairway.ENOTFOUND {
				t.Fatalf("a damaged blob reached the destination: %v", err)
			}
			// A missing source blob is an error, not a skip.
			missing := blobtest.Digest([]byte("never stored"))
			if _, err := blob.Copy(ctx, dst, src, []string{missing}, nil); fairway.ErrorCode(err) != fairway.ENOTFOUND {
				t.Fatalf("copy of a missing blob: %v", err)
			}
		})
	}
}

func TestEvidenceDigests(t *testing.T) {
	a, b, c := blobtest.Digest([]byte("a")), blobtest.Digest([]byte("b")), blobtest.Digest([]byte("c"))
	list := []*fairway.Evidence{
		{Digest: a},
		{Digest: b, Command: &fairway.Command{StdoutDigest: c, StderrDigest: a}},
		{Digest: c, Command: &fairway.Command{}},
	}
	if got := blob.EvidenceDigests(list); !slices.Equal(got, []string{a, b, c}) {
		t.Fatalf("EvidenceDigests = %v", got)
	}
}
