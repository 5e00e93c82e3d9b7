package bench_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"fairway"
	"fairway/bench"
	"fairway/blobtest"
	"fairway/storeurl"
)

const ingestChildEnv = "FAIRWAY_TEST_INGEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(ingestChildEnv); dir != "" {
		size, _ := strconv.ParseInt(os.Getenv("FAIRWAY_TEST_INGEST_BYTES"), 10, 64)
		e, err := ingestChild(dir, size, os.Getenv(ingestS3Env))
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		peak, err := bench.PeakRSS()
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		fmt.Printf("%s %d", e.Digest, peak)
		os.Exit(0)
	}
	code := m.Run()
	blobtest.StopS3()
	os.Exit(code)
}

// ingestS3Env hands the ingest child a bucket URL for the blobs.
const ingestS3Env = "FAIRWAY_TEST_INGEST_S3"

func ingestChild(dir string, size int64, blobsURL string) (*fairway.Evidence, error) {
	ctx := context.Background()
	if blobsURL == "" {
		return bench.Ingest(ctx, dir, size)
	}
	loc, err := storeurl.ParseBlobs(blobsURL, nil)
	if err != nil {
		return nil, err
	}
	blobs, err := storeurl.OpenBlobs(ctx, loc)
	if err != nil {
		return nil, err
	}
	return bench.IngestInto(ctx, dir, size, blobs)
}

// TestIngest_BoundedMemory streams a large log through the whole evidence
// path in a child process and checks the child's peak memory. The size is
// 256 MiB by default; FAIRWAY_TEST_INGEST_MIB=2048 runs the 2 GiB case.
func TestIngest_BoundedMemory(t *testing.T) {
	mib := int64(256)
	if v := os.Getenv("FAIRWAY_TEST_INGEST_MIB"); v != "" {
		mib, _ = strconv.ParseInt(v, 10, 64)
	}
	checkIngestMemory(t, mib, "", 64<<20)
}

// TestIngest_BoundedMemoryToS3: the same into object storage, where the
// upload's part buffers (Threads × PartSize) are held besides; 96 MiB is
// three times those.
func TestIngest_BoundedMemoryToS3(t *testing.T) {
	srv := blobtest.S3(t)
	checkIngestMemory(t, 96, srv.URL(srv.NewPrefix()), 128<<20)
}

func checkIngestMemory(t *testing.T, mib int64, blobsURL string, limit int64) {
	size := mib << 20
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ingestChildEnv+"="+t.TempDir(), "FAIRWAY_TEST_INGEST_BYTES="+strconv.FormatInt(size, 10), ingestS3Env+"="+blobsURL)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ingest child: %v", err)
	}
	h := sha256.New()
	io.Copy(h, bench.NewLogStream(size))
	var digest string
	var peak int64
	if _, err := fmt.Sscan(string(out), &digest, &peak); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	if want := "sha256:" + hex.EncodeToString(h.Sum(nil)); digest != want {
		t.Fatalf("stored digest %s, want %s", digest, want)
	}
	t.Logf("ingested %d MiB; peak RSS %.1f MiB", mib, float64(peak)/(1<<20))
	if raceEnabled {
		limit = 512 << 20 // the race detector's shadow memory
	}
	if peak > limit {
		t.Fatalf("peak RSS %d MiB for a %d MiB stream; want under %d MiB", peak>>20, mib, limit>>20)
	}
}
