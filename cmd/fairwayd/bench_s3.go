package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"fairway/bench"
	"fairway/blob"
	"fairway/storeurl"

	"github.com/minio/minio-go/v7"
)

// benchS3Env hands the ingest child the bucket URL of its run. The
// environment, not the command line, so that credentials in the URL do
// not show in a process listing.
const benchS3Env = "FAIRWAY_BENCH_S3"

// benchIngestChild ingests size bytes into dir: with the blobs in the
// bucket benchS3Env names when it is set, in dir/blobs otherwise.
func benchIngestChild(a *app, dir string, size int64) error {
	raw := a.getenv(benchS3Env)
	if raw == "" {
		_, err := bench.Ingest(a.ctx, dir, size)
		return err
	}
	loc, err := storeurl.ParseBlobs(raw, a.getenv)
	if err != nil {
		return err
	}
	blobs, err := storeurl.OpenBlobs(a.ctx, loc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err = bench.IngestInto(a.ctx, dir, size, blobs)
	return err
}

// benchS3 times one evidence upload of mib MiB through Fairway into the
// bucket raw names (a child process: the whole `evidence add` path, the
// record in SQLite and the bytes in the bucket) against minio-go's own
// PutObject of the same bytes to the same bucket, in the same run: with
// the client's default options and tuned as Fairway tunes its uploads. Everything it writes lives under a prefix of its own, removed
// at the end.
func benchS3(a *app, exe, work, raw string, mib int64, reps int, progress func(string, ...any)) ([]benchRow, error) {
	ctx := a.ctx
	loc, err := storeurl.ParseBlobs(raw, a.getenv)
	if err != nil {
		return nil, err
	}
	if loc.Kind != storeurl.BlobS3 {
		return nil, usagef("--s3 wants an s3://BUCKET/PREFIX?endpoint=HOST:PORT URL, not %s", loc)
	}
	b := make([]byte, 6)
	rand.Read(b)
	run := "fairway-bench-" + hex.EncodeToString(b)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), run)
	loc.S3.Prefix = path.Join(loc.S3.Prefix, run)
	store, err := blob.NewS3Store(ctx, loc.S3)
	if err != nil {
		return nil, err
	}
	clean := func() {
		c := store.Client()
		for o := range c.ListObjects(ctx, store.Bucket(), minio.ListObjectsOptions{Prefix: loc.S3.Prefix + "/", Recursive: true}) {
			if o.Err == nil {
				c.RemoveObject(ctx, store.Bucket(), o.Key, minio.RemoveObjectOptions{})
			}
		}
	}
	defer clean()
	size := mib << 20
	mibps := func(d time.Duration) float64 { return float64(mib) / d.Seconds() }

	// The three are interleaved, reps times, and each reported as its
	// median: a shared machine's load then weighs on all three alike.
	var plains, fairways, tuneds []time.Duration
	var peakBytes float64
	for i := range reps {
		progress("S3 %d/%d: %d MiB with minio-go's PutObject, default options", i+1, reps, mib)
		d, err := bench.Time(1, func() error {
			return bench.S3PutOnly(ctx, store, loc.S3.Prefix+"/put-default", size, minio.PutObjectOptions{})
		})
		if err != nil {
			return nil, fmt.Errorf("S3 baseline: %w", err)
		}
		plains = append(plains, d)

		progress("S3 %d/%d: %d MiB as evidence through Fairway (child process, for peak memory)", i+1, reps, mib)
		child := exec.Command(exe, "bench", "--ingest-child", filepath.Join(work, fmt.Sprintf("s3-ingest-%d", i)), "--ingest-mib", strconv.FormatInt(mib, 10))
		child.Env = append(os.Environ(), benchS3Env+"="+u.String())
		start := time.Now()
		out, err := child.Output()
		if err != nil {
			return nil, fmt.Errorf("S3 ingest: %v: %s", err, out)
		}
		fairways = append(fairways, time.Since(start))
		peak, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			return nil, fmt.Errorf("S3 ingest child said %q", out)
		}
		peakBytes = max(peakBytes, peak)
		// The next run must upload, not find its bytes already stored.
		clean()

		progress("S3 %d/%d: %d MiB with minio-go's PutObject, tuned as Fairway's uploads", i+1, reps, mib)
		d, err = bench.Time(1, func() error { return bench.S3PutOnly(ctx, store, loc.S3.Prefix+"/put-tuned", size, store.PutOptions()) })
		if err != nil {
			return nil, fmt.Errorf("S3 tuned baseline: %w", err)
		}
		tuneds = append(tuneds, d)
	}
	plain, fairwayTime, tuned := median(plains), median(fairways), median(tuneds)
	opts := store.PutOptions()
	return []benchRow{
		{Name: fmt.Sprintf("evidence add to S3, %d MiB log", mib), Value: mibps(fairwayTime), Unit: "MiB/s", Baseline: mibps(plain),
			Ratio: mibps(fairwayTime) / mibps(plain), Goal: ">= 0.8x",
			Note: fmt.Sprintf("baseline: minio-go's PutObject of the same bytes to the same bucket, default options; Fairway, in a fresh process, scans and hashes while streaming to a temporary upload, copies it to its digest key and records it; medians of %d interleaved runs", reps)},
		{Name: fmt.Sprintf("evidence add to S3 vs a tuned PutObject, %d MiB", mib), Value: mibps(fairwayTime), Unit: "MiB/s", Baseline: mibps(tuned),
			Ratio: mibps(fairwayTime) / mibps(tuned), Goal: "(shows Fairway's own cost)",
			Note: fmt.Sprintf("baseline: PutObject with Fairway's upload options (%d MiB parts, %d in parallel)", opts.PartSize>>20, opts.NumThreads)},
		{Name: "evidence add to S3, peak memory", Value: peakBytes / (1 << 20), Unit: "MiB RSS", Goal: "< 128 MiB",
			Note: "whole process, including the store and the upload buffers"},
	}, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
