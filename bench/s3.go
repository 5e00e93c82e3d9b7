package bench

import (
	"context"

	"fairway/blob"

	"github.com/minio/minio-go/v7"
)

// S3PutOnly sends size bytes of the log stream to key in the store's
// bucket with minio-go's own PutObject and no Fairway in the way, then
// removes the object: the baseline for evidence ingest into object
// storage. opts are the client's options as given (the zero value is
// the client's defaults).
func S3PutOnly(ctx context.Context, s *blob.S3Store, key string, size int64, opts minio.PutObjectOptions) error {
	if _, err := s.Client().PutObject(ctx, s.Bucket(), key, NewLogStream(size), size, opts); err != nil {
		return err
	}
	return s.Client().RemoveObject(ctx, s.Bucket(), key, minio.RemoveObjectOptions{})
}
