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

	"fairway/bench"
)

const ingestChildEnv = "FAIRWAY_TEST_INGEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(ingestChildEnv); dir != "" {
		size, _ := strconv.ParseInt(os.Getenv("FAIRWAY_TEST_INGEST_BYTES"), 10, 64)
		e, err := bench.Ingest(context.Background(), dir, size)
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
	os.Exit(m.Run())
}

// TestIngest_BoundedMemory streams a large log through the whole evidence
// path in a child process and checks the child's peak memory. The size is
// 256 MiB by default; FAIRWAY_TEST_INGEST_MIB=2048 runs the 2 GiB case.
func TestIngest_BoundedMemory(t *testing.T) {
	mib := int64(256)
	if v := os.Getenv("FAIRWAY_TEST_INGEST_MIB"); v != "" {
		mib, _ = strconv.ParseInt(v, 10, 64)
	}
	size := mib << 20
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ingestChildEnv+"="+t.TempDir(), "FAIRWAY_TEST_INGEST_BYTES="+strconv.FormatInt(size, 10))
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
	limit := int64(64 << 20)
	if raceEnabled {
		limit = 512 << 20 // the race detector's shadow memory
	}
	if peak > limit {
		t.Fatalf("peak RSS %d MiB for a %d MiB stream; want under %d MiB", peak>>20, mib, limit>>20)
	}
}
