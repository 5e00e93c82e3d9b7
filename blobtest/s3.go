package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// WeedEnv names the environment variable holding the path of a SeaweedFS
// `weed` binary; the S3 tests start it on loopback, and skip without it.
const WeedEnv = "FAIRWAY_TEST_S3_WEED"

// S3Server is a real S3-compatible server (SeaweedFS) started for a test
// binary on free loopback ports, with one identity allowed to do
// anything.
type S3Server struct {
	Endpoint  string // host:port of the S3 API, plain HTTP
	AccessKey string
	SecretKey string
	// Bucket exists when the server is handed out; tests that need an
	// empty store use a prefix of their own in it (NewPrefix).
	Bucket string

	cmd   *exec.Cmd
	dir   string
	log   string
	ports []int
	done  chan struct{}
}

var (
	shared     *S3Server
	sharedErr  error
	sharedOnce sync.Once
)

// S3 returns the test binary's S3 server, starting it on first use; it
// skips the test when WeedEnv is unset. Call StopS3 from TestMain.
func S3(t testing.TB) *S3Server {
	t.Helper()
	bin := os.Getenv(WeedEnv)
	if bin == "" {
		t.Skipf("set %s to the path of a SeaweedFS weed binary to run the S3 tests against a real server (.ci/run builds one)", WeedEnv)
	}
	sharedOnce.Do(func() { shared, sharedErr = StartS3(bin) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// StopS3 stops the server S3 started, if any.
func StopS3() {
	if shared != nil {
		shared.Stop()
	}
}

// freePorts reserves n distinct free loopback ports. They are released
// before the server binds them, as any such scheme must; a collision
// shows as a start failure, not a wrong result.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// StartS3 starts `weed server` with its master, volume, filer and S3
// gateway on free loopback ports in a temporary folder, and waits until
// the S3 API creates a bucket.
func StartS3(bin string) (*S3Server, error) {
	dir, err := os.MkdirTemp("", "fairway-weed-")
	if err != nil {
		return nil, err
	}
	s := &S3Server{AccessKey: "fairway-" + randomHex(4), SecretKey: randomHex(20), Bucket: "fairway-test", dir: dir, log: filepath.Join(dir, "weed.log"), done: make(chan struct{})}
	cfg := fmt.Sprintf(`{"identities":[{"name":"fairway","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, s.AccessKey, s.SecretKey)
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	p, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	s.Endpoint = "127.0.0.1:" + strconv.Itoa(p[6])
	s.ports = p
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + data,
		"-master.port=" + strconv.Itoa(p[0]), "-master.port.grpc=" + strconv.Itoa(p[1]),
		"-master.telemetry=false", "-master.volumeSizeLimitMB=1024",
		"-volume.port=" + strconv.Itoa(p[2]), "-volume.port.grpc=" + strconv.Itoa(p[3]), "-volume.max=16",
		"-filer", "-filer.port=" + strconv.Itoa(p[4]), "-filer.port.grpc=" + strconv.Itoa(p[5]),
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3", "-s3.port=" + strconv.Itoa(p[6]), "-s3.port.grpc=" + strconv.Itoa(p[7]),
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config=" + filepath.Join(dir, "s3.json"),
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Its own process group, so Stop reaches every process it starts.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(90 * time.Second); err != nil {
		tail := s.logTail()
		s.Stop()
		return nil, fmt.Errorf("SeaweedFS S3 did not become ready: %v\n%s", err, tail)
	}
	return s, nil
}

func (s *S3Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Client returns a minio-go client signed with the server's identity.
func (s *S3Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Secure: false})
}

// waitReady creates the shared bucket and writes one object, retrying
// until the gateway, the filer and a volume all answer.
func (s *S3Server) waitReady(limit time.Duration) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("weed exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last = func() error {
			ok, err := c.BucketExists(ctx, s.Bucket)
			if err != nil {
				return err
			}
			if !ok {
				if err := c.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{}); err != nil {
					return err
				}
			}
			_, err = c.PutObject(ctx, s.Bucket, "ready", strings.NewReader("ready"), 5, minio.PutObjectOptions{})
			if err != nil {
				return err
			}
			return c.RemoveObject(ctx, s.Bucket, "ready", minio.RemoveObjectOptions{})
		}()
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return last
}

// NewPrefix returns a prefix no other test uses, so that a store under it
// starts empty.
func (s *S3Server) NewPrefix() string { return "t-" + randomHex(8) }

// URL returns an s3:// blob store URL for the shared bucket under prefix,
// credentials included.
func (s *S3Server) URL(prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&secure=false&access_key=%s&secret_key=%s", s.Bucket, prefix, s.Endpoint, s.AccessKey, s.SecretKey)
}

// Stop ends the server's process group and removes its folder.
func (s *S3Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
	// weed puts the Unix sockets of its gRPC services in /tmp whatever
	// its flags say, named by port; they outlive it.
	for _, p := range s.ports {
		for _, svc := range []string{"master", "volume", "filer", "s3"} {
			os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", svc, p))
		}
	}
}
