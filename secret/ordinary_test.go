package secret_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"fairway/secret"
)

// ordinary holds strings that evidence, titles and work directories are
// full of and that hold no secret: none may be flagged by any rule.
var ordinary = []struct{ kind, text string }{
	// URLs with numeric ids.
	{"url", "https://github.com/Acme/gpuaas/actions/runs/9120455731"},
	{"url", "https://github.com/Acme/gpuaas/actions/runs/9120455731/job/25079384512"},
	{"url", "https://github.com/Acme/gpuaas/actions/runs/9120455731/attempts/2"},
	{"url", "see https://github.com/AcmeCorp/GpuaasInfra/actions/runs/10293847561 for the logs"},
	{"url", "https://github.com/Acme/gpuaas/pull/4821/files#diff-4f9a1c2e8b7d"},
	{"url", "https://gitlab.com/AcmeCorp/Platform/GpuScheduler/-/pipelines/1287364521"},
	{"url", "https://gitlab.com/AcmeCorp/Platform/GpuScheduler/-/jobs/8127364512/artifacts/browse"},
	{"url", "https://buildkite.com/AcmeCorp/GpuaasDeploy/builds/48213#0190f2a4-7c1e-4b5d-9a8f-1e2d3c4b5a69"},
	{"url", "https://app.circleci.com/pipelines/github/Acme/Gpuaas/12345/workflows/0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"},
	{"url", "https://dev.azure.com/AcmeCorp/Platform/_build/results?buildId=20261130&view=logs"},
	{"url", "https://console.cloud.google.com/Kubernetes/Workload/Overview?project=acme-prod-482913"},
	{"url", "https://jira.example.com/browse/PLATFORM-48213?focusedCommentId=9876543210"},
	{"url", "https://github.com/Acme/gpuaas/commit/4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"},
	{"url", "https://github.com/Acme/gpuaas/blob/4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39/ledger/Webhook.go#L264"},
	{"url", "https://github.com/Acme/GpuaasInfra/releases/download/v1.24.3/FairwayServer2026Linux64.tar.gz"},
	{"url", "https://grafana.example.com/d/GpuUtilization2026/gpu-utilization?orgId=1&from=1764478867000&to=1764482467000"},
	{"url", "https://sentry.io/organizations/AcmeCorp/issues/4821937465/events/LatestEvent2026/"},
	{"url", "s3://acme-artifacts/Builds/2026/11/30/FairwayLinuxAmd64.tar.gz"},
	{"url", "https://hooks.example.com/Webhooks/GitHub/Deliveries/72d3162e-cc78-11e3-81ab-4c9367dc0958"},
	// Paths, temporary directories among them.
	{"path", "/tmp/TestSessionStart1234567890/001"},
	{"path", "/tmp/TestSessionAttach_WorkdirIsRecorded3917264508/002"},
	{"path", "/tmp/TestWebhook_SameDeliveryAtOnceIsAppliedOnce2718281828/001/Repo"},
	{"path", "/tmp/TestAPIv2GetUserByID_subtest_421234567890/001"},
	{"path", "/srv/fairway/7x/k3q9z2p14g1b8m0x7v5n6c4r0000gn/T/TestLedger4815162342/001"},
	{"path", "/srv/fairway/GpuaasInfra/GpuaasInfra/Build2026/Output64"},
	{"path", `C:\Fairway\Scratch\Local\Temp\TestSessionStart1234567890\001`},
	{"path", "/srv/fairway/Projects/Fairway2026/ledger/Webhook_test.go"},
	{"path", "./internal/Storage/Postgres/Migrations/0042_AddWebhookDeliveries.sql"},
	{"path", "/srv/fairway/gomod/github.com/Acme/GpuaasClient@v1.24.3/Client.go"},
	{"path", "com/acme/gpuaas/scheduler/GpuQuotaServiceImpl$Builder12.class"},
	{"path", "src/main/java/com/AcmeCorp/Gpuaas/Scheduler2026/QuotaService.java"},
	{"path", "--workdir /tmp/TestSessionStart1234567890/001 --json"},
	// UUIDs.
	{"uuid", "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"},
	{"uuid", "550E8400-E29B-41D4-A716-446655440000"},
	{"uuid", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
	{"uuid", "request 0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a/Attempt2 failed"},
	// Git commit ids and refs.
	{"git", "4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"},
	{"git", "commit 4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 (HEAD -> main, origin/Main)"},
	{"git", "refs/heads/Feature/GPU-1234-AddQuota2026/4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"},
	{"git", "Merge: 4f9a1c2 8b7d6a5"},
	{"git", "v0.0.0-20231127185646-f5d17a7a0b79"},
	{"git", "github.com/Acme/GpuaasClient v0.0.0-20231127185646-f5d17a7a0b79"},
	// Images: names, digests, inline image bytes.
	{"image", "ghcr.io/acme/gpuaas-api:v1.24.3"},
	{"image", "ghcr.io/AcmeCorp/GpuaasScheduler2026:Release2026.11.30"},
	{"image", "registry.example.com/Team/ImageBuilder2026/Base64Encoder:latest"},
	{"image", "docker.io/library/postgres@sha256:5f1a9c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3b2a19081726"},
	{"image", "Digest: sha256:5f1a9c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3b2a19081726"},
	{"image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/GpuaasApi2026@sha256:5f1a9c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3b2a19081726"},
	{"image", `<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==">`},
	{"image", "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMCIvPg=="},
	// Versions and times.
	{"semver", "v1.24.3-rc.1+build.20261130.4f9a1c2"},
	{"semver", "fairway version 2.0.0-beta.3+Linux.AMD64.Go1.26"},
	{"semver", "GpuaasScheduler-1.24.3-rc1-Linux-x86_64-20261130.tar.gz"},
	{"time", "2026-11-30T05:01:07Z"},
	{"time", "2026-11-30T05:01:07.123456789+00:00"},
	{"time", "20261130T050107Z-Build4821/Run9120455731"},
	// Kubernetes.
	{"k8s", "api-7d9f8c6b5-x2k4p"},
	{"k8s", "pod/api-7d9f8c6b5-x2k4p/Container2026 restarted"},
	{"k8s", "default/GpuScheduler2026-7d9f8c6b5-x2k4p"},
	{"k8s", "gpuaas-worker-statefulset-0.gpuaas-worker.default.svc.cluster.local"},
	{"k8s", "arn:aws:iam::123456789012:role/GpuaasDeployRole2026"},
	// Digests that label themselves.
	{"digest", "golang.org/x/mod v0.17.0 h1:zY54UmvipHiNd+pm+m0x9KhZ9hl1/7QNMyxXbc6ICqA="},
	{"digest", `"integrity": "sha512-Zk9sT2xQdWN3R3VxZk9sT2xQdWN3R3VxZk9sT2xQdWN3R3VxZk9sT2xQdWN3R3VxZk9sT2xQdWN3R3Vx=="`},
	// Prose and code.
	{"text", "the GpuaasScheduler2026 release moved TestQuotaEnforcement2026 to the nightly suite"},
	{"text", "password: <redacted>"},
	{"text", "token: ${{ secrets.GITHUB_TOKEN }}"},
}

// mustFlag holds secrets in the same surroundings: each must still be
// found, by the rule named.
var mustFlag = []struct{ rule, text string }{
	{"aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"},
	{"aws-access-key-id", "export AWS_ACCESS_KEY_ID=ASIAY34FZKBOKMUTVV7A"},
	{"aws-secret-access-key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	{"github-token", "ghp_1234567890abcdefghijABCDEFGHIJ123456"},
	{"github-token", "git clone https://x-access-token:gho_16C7e42F292c6912E7710c838347Ae178B4a@github.com/Acme/gpuaas"},
	{"github-fine-grained-token", "GH_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF"},
	{"slack-token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
	{"slack-token", "SLACK=xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef"},
	{"private-key", pemKey},
	{"private-key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----"},
	{"private-key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----"},
	{"password-assignment", "DB_PASSWORD=hunter2hunter2"},
	{"password-assignment", `"db_password": "S3cr3t-Passw0rd!"`},
	{"password-assignment", "client_secret: q8Rk2mVx7TzLp4Nw"},
	{"password-assignment", "export API_KEY=Zk9sT2xQdWN3R3Vx"},
	{"url-credentials", "https://deploy:Sup3rS3cret@git.example.com/repo.git"},
	{"url-credentials", "https://user:pass@host"},
	{"url-credentials", "postgres://app:pa55word@db.internal:5432/billing"},
	{"jwt", "Cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX2hlcmU"},
	{"high-entropy-string", "Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA"},
	{"high-entropy-string", "key Xq4Wr6Ts8Uv0Yw2Zx4Ab6Cd8Ef0Gh2Ij4Kl6Mn8Op0Q"},
	{"high-entropy-string", "https://files.example.com/keys/Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA"},
	{"high-entropy-string", "/srv/fairway/GpuaasInfra/GpuaasInfra/Build2026/Output64/Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA"},
	{"high-entropy-string", "https://example.com/cb?code=Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA&state=1"},
	{"high-entropy-string", "data:text/plain;base64,Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA"},
	{"high-entropy-string", "/tmp/TestSessionStart1234567890/Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA/001"},
	{"high-entropy-string", "https://hooks.example.com/hooks/Xq4Wr6Ts8Uv0Yw2Zx4Ab6Cd8Ef"},
	{"high-entropy-string", "--workdir /tmp/work3917264508/wt-Q7fK2pX9vL4mN8rT3bY6hJ1dS5gW0zC"},
}

// scanCounts scans both tables and returns the ordinary strings flagged
// and the secrets found by their rule.
func scanCounts() (falsePositives []string, truePositives int, missed []string) {
	for _, o := range ordinary {
		if fs := secret.ScanText(o.text); len(fs) > 0 {
			falsePositives = append(falsePositives, o.kind+" "+o.text+" ("+strings.Join(rules(fs), ",")+")")
		}
	}
	for _, ex := range ruleExamples {
		if fs := secret.ScanText(ex.hit); len(fs) == 1 && fs[0].Rule == ex.rule {
			truePositives++
		} else {
			missed = append(missed, ex.rule+": "+ex.hit)
		}
	}
	for _, m := range mustFlag {
		found := false
		for _, f := range secret.ScanText(m.text) {
			found = found || f.Rule == m.rule
		}
		if found {
			truePositives++
		} else {
			missed = append(missed, m.rule+": "+m.text)
		}
	}
	return falsePositives, truePositives, missed
}

func TestScanText_OrdinaryStringsAreNotSecretsAndSecretsStillAre(t *testing.T) {
	fp, tp, missed := scanCounts()
	t.Logf("ordinary strings flagged: %d of %d; secrets found: %d of %d", len(fp), len(ordinary), tp, len(ruleExamples)+len(mustFlag))
	for _, s := range fp {
		t.Errorf("flagged: %s", s)
	}
	for _, s := range missed {
		t.Errorf("missed: %s", s)
	}
}

// TestScanText_RandomKeysAreStillFound measures what the rule that tells
// words and numbers from random bytes costs: generated keys of the
// lengths the entropy rule covers, base64 and alphanumeric, from a fixed
// seed, must almost all still be flagged.
func TestScanText_RandomKeysAreStillFound(t *testing.T) {
	const perCase = 5000
	r := rand.New(rand.NewPCG(1, 2))
	for _, alphabet := range []struct{ name, chars string }{
		{"base64", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"},
		{"alphanumeric", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"},
	} {
		for _, n := range []int{32, 40, 64} {
			eligible, found := 0, 0
			for range perCase {
				b := make([]byte, n)
				for i := range b {
					b[i] = alphabet.chars[r.IntN(len(alphabet.chars))]
				}
				if !eligibleForEntropy(b) {
					continue // no mix of cases and digits: never the rule's
				}
				eligible++
				for _, f := range secret.ScanText("value " + string(b) + " end") {
					if f.Rule == "high-entropy-string" && f.Length == n {
						found++
						break
					}
				}
			}
			t.Logf("%s keys of %d bytes: %d of %d found", alphabet.name, n, found, eligible)
			// At most one in a thousand may be lost, none at 64 bytes.
			if lost := eligible - found; lost*1000 > eligible || n == 64 && lost > 0 {
				t.Errorf("%s keys of %d bytes: %d of %d lost", alphabet.name, n, lost, eligible)
			}
		}
	}
}

// eligibleForEntropy is the entropy rule's first test: upper case, lower
// case and digits, and bytes spread over at least 4.3 bits each.
func eligibleForEntropy(b []byte) bool {
	var upper, lower, digit bool
	var counts [256]int
	for _, c := range b {
		upper = upper || 'A' <= c && c <= 'Z'
		lower = lower || 'a' <= c && c <= 'z'
		digit = digit || '0' <= c && c <= '9'
		counts[c]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return upper && lower && digit && h >= 4.3
}
