package fairway

import (
	"context"
	"io"
)

// BlobStore keeps evidence bytes addressed by their SHA-256. Bytes are
// staged first and appear under their digest only once complete and
// durable, so a crash never leaves a partial blob under a real digest.
type BlobStore interface {
	// Create starts staging a new blob.
	Create(ctx context.Context) (BlobWriter, error)
	// Open reads a blob; ENOTFOUND when absent.
	Open(ctx context.Context, digest string) (io.ReadCloser, error)
	// Stat returns a blob's size; ENOTFOUND when absent.
	Stat(ctx context.Context, digest string) (int64, error)
	// Remove deletes a blob. Only for undoing a blob this process just
	// committed when its evidence record could not be written.
	Remove(ctx context.Context, digest string) error
}

// BlobWriter stages one blob. Write may be called any number of times,
// then exactly one of Commit or Abort.
type BlobWriter interface {
	io.Writer
	// Digest and Size describe what was written so far.
	Digest() string
	Size() int64
	// Reader reads back what was staged, before Commit.
	Reader() (io.ReadCloser, error)
	// Commit makes the staged bytes durable under their digest. Created
	// is false when the store already held the same bytes.
	Commit(ctx context.Context) (created bool, err error)
	// Abort discards the staged bytes.
	Abort() error
}

var digestRE = lazyRegexp(`^sha256:[0-9a-f]{64}$`)

// ValidateDigest checks a "sha256:<64 hex>" digest.
func ValidateDigest(field, d string) error {
	if !digestRE().MatchString(d) {
		return FieldError(field, "%q is not a digest: want sha256: followed by 64 lower-case hex digits", clip(d))
	}
	return nil
}
