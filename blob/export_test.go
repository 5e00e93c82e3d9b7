package blob

import (
	"os"

	"fairway"
)

// StagingFile is the file an S3 upload is staged in, for tests that
// damage it.
func StagingFile(w fairway.BlobWriter) *os.File { return w.(*s3Writer).f }
