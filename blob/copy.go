package blob

import (
	"context"
	"fmt"
	"io"

	"fairway"
)

// CopyStats counts what Copy did.
type CopyStats struct {
	// Copied blobs were sent to the destination; Skipped ones were there
	// already.
	Copied  int   `json:"copied"`
	Skipped int   `json:"skipped"`
	Bytes   int64 `json:"bytes"` // bytes copied
}

// EvidenceDigests returns, once each and in order of first mention, the
// digests of every part the records name: the blobs a ledger holds.
func EvidenceDigests(list []*fairway.Evidence) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, e := range list {
		add(e.Digest)
		if e.Command != nil {
			add(e.Command.StdoutDigest)
			add(e.Command.StderrDigest)
		}
	}
	return out
}

// Copy copies the blobs named by digests from src to dst, one at a time
// and streaming, so memory stays bounded whatever their size. A blob dst
// already holds with the same size is skipped, so a copy stopped halfway
// resumes where it was and a second run copies nothing. Each copy is
// hashed on the way and committed only if it matches its digest: a
// damaged source blob stops the copy with an error naming it, and
// nothing is stored under its digest. progress, when not nil, is called
// after each blob with how many of them are done.
func Copy(ctx context.Context, dst, src fairway.BlobStore, digests []string, progress func(done int, st CopyStats)) (CopyStats, error) {
	var st CopyStats
	buf := make([]byte, 1<<20)
	for i, d := range digests {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		size, err := src.Stat(ctx, d)
		if err != nil {
			return st, fmt.Errorf("copy blob %s: source: %w", d, err)
		}
		if have, err := dst.Stat(ctx, d); err == nil && have == size {
			st.Skipped++
		} else if err != nil && fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return st, fmt.Errorf("copy blob %s: destination: %w", d, err)
		} else {
			n, err := copyOne(ctx, dst, src, d, buf)
			if err != nil {
				return st, err
			}
			st.Copied++
			st.Bytes += n
		}
		if progress != nil {
			progress(i+1, st)
		}
	}
	return st, nil
}

func copyOne(ctx context.Context, dst, src fairway.BlobStore, d string, buf []byte) (int64, error) {
	r, err := src.Open(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("copy blob %s: source: %w", d, err)
	}
	defer r.Close()
	w, err := dst.Create(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy blob %s: destination: %w", d, err)
	}
	if _, err := io.CopyBuffer(w, r, buf); err != nil {
		w.Abort()
		return 0, fmt.Errorf("copy blob %s: %w", d, err)
	}
	if got := w.Digest(); got != d {
		w.Abort()
		return 0, fairway.Errorf(fairway.ECONFLICT, "copy blob %s: the source's bytes hash to %s; nothing was copied for it (run `fairway evidence verify` on the source)", d, got)
	}
	if _, err := w.Commit(ctx); err != nil {
		return 0, fmt.Errorf("copy blob %s: %w", d, err)
	}
	return w.Size(), nil
}
