package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairway"
	"fairway/blobtest"
	fairwayhttp "fairway/http"

	"github.com/minio/minio-go/v7"
)

// TestLocalMode_BlobsInS3: with $FAIRWAY_BLOBS naming a bucket (and the
// credentials in the AWS variables, not the URL), evidence bytes go to
// the bucket, not the blobs folder; `evidence verify` re-reads and
// re-hashes the objects and names one whose bytes were changed.
func TestLocalMode_BlobsInS3(t *testing.T) {
	srv := blobtest.S3(t)
	prefix := srv.NewPrefix()
	e := newCLIEnv(t, true)
	env := map[string]string{
		"FAIRWAY_BLOBS":         "s3://" + srv.Bucket + "/" + prefix + "?endpoint=http://" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID":     srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": srv.SecretKey,
	}
	run := func(args ...string) (string, string, int) { return e.runWith(env, "alice", args...) }
	if out, errs, code := run("task", "create", "OPS-FIX-001", "--title", "restore"); code != 0 {
		t.Fatalf("task create: %d %s %s", code, out, errs)
	}
	plan := filepath.Join(t.TempDir(), "rollback.md")
	body := "restore tunnel config v41\n"
	os.WriteFile(plan, []byte(body), 0o644)
	if out, errs, code := run("evidence", "add", "--task", "OPS-FIX-001", "--kind", "rollback-plan", plan); code != 0 || !strings.HasPrefix(out, "recorded EV-") {
		t.Fatalf("evidence add: %d %q %s", code, out, errs)
	}
	if entries, err := os.ReadDir(filepath.Join(e.dir, "blobs", "sha256")); err != nil || len(entries) != 0 {
		t.Fatalf("the blobs folder was used although $FAIRWAY_BLOBS names a bucket: %d entries, %v", len(entries), err)
	}
	digest := blobtest.Digest([]byte(body))
	hexd := strings.TrimPrefix(digest, "sha256:")
	key := prefix + "/sha256/" + hexd[:2] + "/" + hexd
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if info, err := c.StatObject(ctx, srv.Bucket, key, minio.StatObjectOptions{}); err != nil || info.Size != int64(len(body)) {
		t.Fatalf("object %s: %+v, %v", key, info, err)
	}
	if out, errs, code := run("evidence", "verify"); code != 0 || out != "evidence intact: 1 blobs checked\n" {
		t.Fatalf("evidence verify: %d %q %s", code, out, errs)
	}
	// Same size, other bytes: only re-hashing can tell.
	forged := strings.Replace(body, "v41", "v40", 1)
	if _, err := c.PutObject(ctx, srv.Bucket, key, strings.NewReader(forged), int64(len(forged)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run("evidence", "verify")
	wantOut := " content " + digest + ": the blob's bytes hash to " + blobtest.Digest([]byte(forged)) + "\n"
	if code != exitConflict || !strings.HasPrefix(out, "EV-") || !strings.HasSuffix(out, wantOut) ||
		errs != "fairway: 1 evidence blob(s) do not match their digest\n" {
		t.Fatalf("evidence verify of a changed object: %d %q %q; want a line ending %q", code, out, errs, wantOut)
	}
	if err := c.RemoveObject(ctx, srv.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, _, code := run("evidence", "verify"); code != exitConflict || !strings.HasSuffix(out, " content "+digest+": the blob is missing\n") {
		t.Fatalf("evidence verify of a removed object: %d %q", code, out)
	}
}

// TestBlobsURL_Refusals: a bad blobs URL is refused with what and why,
// and never shows a credential.
func TestBlobsURL_Refusals(t *testing.T) {
	e := newCLIEnv(t, true)
	env := map[string]string{"FAIRWAY_BLOBS": "s3://evidence?endpoint=127.0.0.1:1&secret_key=hunter2"}
	_, errs, code := e.runWith(env, "alice", "next")
	if code != exitUsage || errs != "fairway: blobs: \"s3://evidence?endpoint=127.0.0.1%3A1&secret_key=xxxxx\" has no credentials: give access_key and secret_key in the query, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n" {
		t.Fatalf("next with a blobs URL without an access key: %d %q", code, errs)
	}
}

// TestLocalMode_LargeRedactedLogInS3: a log larger than what is held in
// memory, with a secret near its end, streams to the bucket, is read back
// from there to be redacted, and only the redacted bytes end under a
// digest; no temporary object stays.
func TestLocalMode_LargeRedactedLogInS3(t *testing.T) {
	srv := blobtest.S3(t)
	prefix := srv.NewPrefix()
	e := newCLIEnv(t, true)
	env := map[string]string{"FAIRWAY_BLOBS": srv.URL(prefix)}
	run := func(args ...string) (string, string, int) { return e.runWith(env, "alice", args...) }
	if out, errs, code := run("task", "create", "OPS-FIX-001", "--title", "restore"); code != 0 {
		t.Fatalf("task create: %d %s %s", code, out, errs)
	}
	token := "ghp_1234567890abcdefghijABCDEFGHIJ123456"
	log := strings.Repeat("pod-a Running restarts=0\n", 5<<20/25) + "token " + token + "\n"
	file := filepath.Join(t.TempDir(), "big.log")
	os.WriteFile(file, []byte(log), 0o644)
	out, errs, code := run("evidence", "add", "--task", "OPS-FIX-001", "--kind", "log", file, "--json")
	if code != 0 {
		t.Fatalf("evidence add: %d %s %s", code, out, errs)
	}
	var evs []struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
		Scan   struct {
			Redacted bool `json:"redacted"`
		} `json:"scan"`
	}
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	ev := evs[0]
	if !ev.Scan.Redacted || ev.Size < 5<<20 {
		t.Fatalf("evidence: %+v", ev)
	}
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var keys []string
	for o := range c.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		keys = append(keys, o.Key)
	}
	hexd := strings.TrimPrefix(ev.Digest, "sha256:")
	if len(keys) != 1 || keys[0] != prefix+"/sha256/"+hexd[:2]+"/"+hexd {
		t.Fatalf("objects = %v, want the redacted blob alone", keys)
	}
	obj, err := c.GetObject(ctx, srv.Bucket, keys[0], minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || blobtest.Digest(stored) != ev.Digest || bytes.Contains(stored, []byte(token)) {
		t.Fatalf("stored %d bytes hashing to %s (record: %s), token kept: %t, %v", len(stored), blobtest.Digest(stored), ev.Digest, bytes.Contains(stored, []byte(token)), err)
	}
	if out, errs, code := run("evidence", "verify"); code != 0 || out != "evidence intact: 1 blobs checked\n" {
		t.Fatalf("evidence verify: %d %q %s", code, out, errs)
	}
}

// TestServe_BlobsInS3: `fairway serve --blobs s3://…`, a real process,
// stores uploaded evidence in the bucket and names the bucket, never its
// credentials, when it starts.
func TestServe_BlobsInS3(t *testing.T) {
	srv := blobtest.S3(t)
	prefix := srv.NewPrefix()
	dir := t.TempDir()
	out, err := fairwayCommand(dir, "actor", "create", "alice", "--kind", "human", "--json").Output()
	if err != nil {
		t.Fatalf("actor create: %v %s", err, out)
	}
	var created struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.Token == "" {
		t.Fatalf("actor create said %s: %v", out, err)
	}
	if out, err := fairwayCommand(dir, "task", "create", "OPS-FIX-001", "--title", "restore").CombinedOutput(); err != nil {
		t.Fatalf("task create: %v %s", err, out)
	}
	cmd := fairwayCommand(dir, "serve", "--addr", "127.0.0.1:0", "--blobs", srv.URL(prefix))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve said %q: %v", line, err)
	}
	wantBlobs := "blobs s3://" + srv.Bucket + "/" + prefix + "?endpoint=" + srv.Endpoint + "&secure=false)"
	if !strings.Contains(line, wantBlobs) || strings.Contains(line, srv.SecretKey) || strings.Contains(line, srv.AccessKey) {
		t.Fatalf("serve said %q; want it to name %q and no credential", line, wantBlobs)
	}
	addr, _, _ := strings.Cut(strings.TrimPrefix(line, "Fairway is serving "), " ")
	c := fairwayhttp.NewClient(addr, created.Token)
	body := "rollback: restore tunnel config v41\n"
	e, err := c.AddEvidence(context.Background(), fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "rollback-plan", Filename: "rollback.md"},
		fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	hexd := strings.TrimPrefix(e.Digest, "sha256:")
	obj, err := mc.GetObject(context.Background(), srv.Bucket, prefix+"/sha256/"+hexd[:2]+"/"+hexd, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if got, err := io.ReadAll(obj); err != nil || string(got) != body {
		t.Fatalf("the bucket holds %q, %v; want %q", got, err, body)
	}
}
