package secret_test

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"fairway/secret"
)

// wrapped returns n bytes of binary-looking data base64-encoded and cut
// into lines of width columns, as base64 and mail attachments print it.
func wrapped(n, width int) string {
	raw := make([]byte, n)
	x := uint32(2463534242)
	for i := range raw {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		raw[i] = byte(x)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(enc) > width {
		b.WriteString(enc[:width] + "\n")
		enc = enc[width:]
	}
	return b.String() + enc + "\n"
}

func rules(fs []secret.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func TestScanText_EncodedFilesAndDigestsAreNotSecretsButKeysStillAre(t *testing.T) {
	token := "Zk9sT2xQdWN3R3VxV1ZZa0RzT3BRaHh6bE1NbkVrRjA"
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"base64 at 76 columns", wrapped(3000, 76), nil},
		{"base64 at 64 columns", wrapped(700, 64), nil},
		{"mail attachment", "Content-Transfer-Encoding: base64\n\n" + wrapped(500, 76) + "--boundary--\n", nil},
		{"certificate", "-----BEGIN CERTIFICATE-----\n" + wrapped(600, 64) + "-----END CERTIFICATE-----\n", nil},
		{"go.sum", "golang.org/x/mod v0.17.0 h1:zY54UmvipHiNd+pm+m0x9KhZ9hl1/7QNMyxXbc6ICqA=\n" +
			"golang.org/x/mod v0.17.0/go.mod h1:hTbmBsO62+eylJbnUtE2MGJUyE7QWk4xUqPFrRgJ+7c=\n", nil},
		{"package-lock integrity", `"integrity": "sha512-` + strings.Repeat("Zk9sT2xQdWN3R3Vx", 5) + `=="` + "\n", nil},
		{"token alone on a line", "config\n" + token + "\nend\n", []string{"high-entropy-string"}},
		{"64-column token alone on a line", "a\n" + cut(alnum, 64) + "\nb\n", []string{"high-entropy-string"}},
		{"two tokens of one width are not a run", "x\n" + token + "\n" + token + "\n", []string{"high-entropy-string", "high-entropy-string"}},
		{"private key among base64", wrapped(200, 76) + "\n" + pemKey + "\n" + wrapped(200, 76), []string{"private-key"}},
		{"secret inside a base64 run", wrapped(120, 76) + "AKIAIOSFODNN7EXAMPLE\n", []string{"aws-access-key-id"}},
		{"token after a go.sum line", "m v1.0.0 h1:zY54UmvipHiNd+pm+m0x9KhZ9hl1/7QNMyxXbc6ICqA= " + token + "\n", []string{"high-entropy-string"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := rules(secret.ScanText(c.text)); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("rules %v, want %v", got, c.want)
			}
			red, _ := secret.RedactText(c.text)
			if c.want == nil && red != c.text {
				t.Fatalf("redaction changed clean text")
			}
		})
	}
}

func TestRedactText_PEMKeyIsRemovedWhole(t *testing.T) {
	red, fs := secret.RedactText("before\n" + pemKey + "\nafter\n")
	if red != "before\n[REDACTED:private-key]\nafter\n" {
		t.Fatalf("redacted %q", red)
	}
	if len(fs) != 1 || fs[0].Line != 2 || fs[0].Column != 1 || fs[0].Length != len(pemKey) {
		t.Fatalf("findings %+v", fs)
	}
	// A key cut short still loses every line it got to.
	cutKey := pemKey[:strings.Index(pemKey, "9w==")]
	red, _ = secret.RedactText(cutKey + "log line\n")
	if red != "[REDACTED:private-key]\nlog line\n" {
		t.Fatalf("cut key redacted %q", red)
	}
}

func TestRedactArgs_CommandLineCredentials(t *testing.T) {
	for _, c := range []struct {
		name       string
		argv, want []string
		rules      []string
		args       []int
	}{
		{"curl -u", []string{"curl", "-u", "api:sk_live_abcdefghijklmnopqrstuvwx", "https://api.example.com"},
			[]string{"curl", "-u", "api:[REDACTED:curl-user-credentials]", "https://api.example.com"}, []string{"curl-user-credentials"}, []int{2}},
		{"curl --user= short password", []string{"curl", "--user=bob:pw1", "x"},
			[]string{"curl", "--user=bob:[REDACTED:curl-user-credentials]", "x"}, []string{"curl-user-credentials"}, []int{1}},
		{"--password=x", []string{"tool", "--password=x"}, []string{"tool", "--password=[REDACTED:secret-flag-value]"}, []string{"secret-flag-value"}, []int{1}},
		{"--token x", []string{"gh", "auth", "--token", "abc", "--verbose"},
			[]string{"gh", "auth", "--token", "[REDACTED:secret-flag-value]", "--verbose"}, []string{"secret-flag-value"}, []int{3}},
		{"--client-secret x", []string{"az", "login", "--client-secret", "s3cr3t"},
			[]string{"az", "login", "--client-secret", "[REDACTED:secret-flag-value]"}, []string{"secret-flag-value"}, []int{3}},
		{"bearer header", []string{"curl", "-H", "Authorization: Bearer abc.def", "u"},
			[]string{"curl", "-H", "Authorization: Bearer [REDACTED:authorization-header]", "u"}, []string{"authorization-header"}, []int{2}},
		{"api key header", []string{"curl", "--header", "X-Api-Key: k1"}, []string{"curl", "--header", "X-Api-Key: [REDACTED:secret-header]"}, []string{"secret-header"}, []int{2}},
		{"url credentials", []string{"git", "clone", "https://bob:pw@git.example.com/r.git"},
			[]string{"git", "clone", "https://bob:[REDACTED:url-credentials]@git.example.com/r.git"}, []string{"url-credentials"}, []int{2}},
		{"env assignment", []string{"env", "DB_PASSWORD=pw", "run"}, []string{"env", "DB_PASSWORD=[REDACTED:secret-env-value]", "run"}, []string{"secret-env-value"}, []int{1}},
		{"mysql -p", []string{"mysql", "-uroot", "-ps3cret", "db"}, []string{"mysql", "-uroot", "-p[REDACTED:secret-flag-value]", "db"}, []string{"secret-flag-value"}, []int{2}},
		{"openssl pass:", []string{"openssl", "enc", "-pass", "pass:hunter2"}, []string{"openssl", "enc", "-pass", "pass:[REDACTED:secret-flag-value]"}, []string{"secret-flag-value"}, []int{3}},
		{"token in any argument", []string{"deploy", "ghp_1234567890abcdefghijABCDEFGHIJ123456"}, []string{"deploy", "[REDACTED:github-token]"}, []string{"github-token"}, []int{1}},
		{"ordinary command", []string{"go", "test", "-run", "TestToken", "-p", "4", "--token-file", "/etc/t", "./..."},
			[]string{"go", "test", "-run", "TestToken", "-p", "4", "--token-file", "/etc/t", "./..."}, nil, nil},
		{"uid:gid and references", []string{"docker", "run", "-u", "1000:1000", "-e", "TOKEN=$TOKEN", "--password", "${PW}"},
			[]string{"docker", "run", "-u", "1000:1000", "-e", "TOKEN=$TOKEN", "--password", "${PW}"}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := secret.RedactArgs(c.argv)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("argv %q, want %q", got, c.want)
			}
			var args []int
			for _, f := range fs {
				args = append(args, f.Arg)
			}
			if !reflect.DeepEqual(rules(fs), c.rules) || !reflect.DeepEqual(args, c.args) {
				t.Fatalf("findings %+v, want rules %v in args %v", fs, c.rules, c.args)
			}
		})
	}
}

func TestRedactEnvValue_BySecretNameOrContent(t *testing.T) {
	for _, c := range []struct{ name, value, want string }{
		{"GITHUB_TOKEN", "abc", "[REDACTED:secret-env-value]"},
		{"STRIPE_KEY", "k", "[REDACTED:secret-env-value]"},
		{"PGPASSWORD", "pw", "[REDACTED:secret-env-value]"},
		{"DATABASE_URL", "postgres://app:Sup3rS3cret@db/x", "postgres://app:[REDACTED:url-credentials]@db/x"},
		{"PWD", "/srv/fairway", "/srv/fairway"},
		{"SSH_AUTH_SOCK", "/run/agent.1", "/run/agent.1"},
		{"TOKEN_FILE", "/run/secrets/t", "/run/secrets/t"},
		{"GOFLAGS", "-mod=mod", "-mod=mod"},
	} {
		if got, _ := secret.RedactEnvValue(c.name, c.value); got != c.want {
			t.Errorf("%s=%q: got %q, want %q", c.name, c.value, got, c.want)
		}
	}
}

func TestScanText_ReportsLineAndColumnOfAField(t *testing.T) {
	fs := secret.ScanText("claim: done\nused key AKIAIOSFODNN7EXAMPLE")
	if len(fs) != 1 || fs[0].String() != "aws-access-key-id at line 2, column 10" {
		t.Fatalf("findings %+v", fs)
	}
}
