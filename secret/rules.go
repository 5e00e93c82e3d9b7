// Package secret finds secrets in evidence as it streams in: private keys,
// cloud and forge tokens, JWTs, password assignments and high-entropy
// strings. It reports where a secret is and which rule found it, never the
// secret itself, and can redact what it finds.
package secret

import (
	"regexp"
	"sync"
)

// Rule is one kind of secret. A line is only matched against Pattern when
// it contains one of Keywords (compared in lower case), which keeps the
// scan fast on ordinary text.
type Rule struct {
	ID          string
	Description string
	Keywords    []string
	// Expr is the rule's regular expression; it is compiled on first use.
	Expr string
	// Group is the submatch that holds the secret; 0 is the whole match.
	Group int
}

// compiled holds the rules' patterns, compiled once when a scan first
// needs them rather than at every start of the program.
var compiled = sync.OnceValue(func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(Rules))
	for i, r := range Rules {
		out[i] = regexp.MustCompile(r.Expr)
	}
	return out
})

// Rules is the built-in rule set. Formats follow the issuers' published
// token layouts.
var Rules = []*Rule{
	{ID: "private-key", Description: "PEM private key block",
		Keywords: []string{"private key"},
		Expr:     `-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY( BLOCK)?-----`},
	{ID: "aws-access-key-id", Description: "AWS access key ID",
		Keywords: []string{"akia", "asia", "abia", "acca"},
		Expr:     `\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`, Group: 1},
	{ID: "aws-secret-access-key", Description: "AWS secret access key assignment",
		Keywords: []string{"aws"},
		Expr:     `(?i)aws.{0,20}?(?:secret|sk|private).{0,20}?['"\s:=]+([A-Za-z0-9/+=]{40})\b`, Group: 1},
	{ID: "github-token", Description: "GitHub personal, OAuth, app or refresh token",
		Keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
		Expr:     `\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}\b`},
	{ID: "github-fine-grained-token", Description: "GitHub fine-grained personal access token",
		Keywords: []string{"github_pat_"},
		Expr:     `\bgithub_pat_[A-Za-z0-9_]{22,255}\b`},
	{ID: "gitlab-token", Description: "GitLab personal, project or runner token",
		Keywords: []string{"glpat-", "glrt-", "gldt-", "glptt-"},
		Expr:     `\b(?:glpat|glrt|gldt|glptt)-[A-Za-z0-9_-]{20,}\b`},
	{ID: "slack-token", Description: "Slack token",
		Keywords: []string{"xox"},
		Expr:     `\bxox[abposr]-[A-Za-z0-9-]{10,}\b`},
	{ID: "google-api-key", Description: "Google API key",
		Keywords: []string{"aiza"},
		Expr:     `\bAIza[0-9A-Za-z_-]{35}\b`},
	{ID: "stripe-key", Description: "Stripe secret or restricted key",
		Keywords: []string{"sk_live_", "rk_live_", "sk_test_", "rk_test_"},
		Expr:     `\b[sr]k_(?:live|test)_[0-9A-Za-z]{20,}\b`},
	{ID: "openai-key", Description: "OpenAI API key",
		Keywords: []string{"sk-"},
		Expr:     `\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}\b`},
	{ID: "anthropic-key", Description: "Anthropic API key",
		Keywords: []string{"sk-ant-"},
		Expr:     `\bsk-ant-[a-z0-9]{2,10}-[A-Za-z0-9_-]{40,}\b`},
	{ID: "jwt", Description: "JSON Web Token",
		Keywords: []string{"eyj"},
		Expr:     `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`},
	{ID: "password-assignment", Description: "password, secret or token assigned a literal value",
		Keywords: []string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key"},
		Expr: (`(?i)\b(?:[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key))\b["']?\s*(?::=|=|:)\s*["']?` +
			`([^\s"'$<>{}()\[\],;]{8,})`), Group: 1},
	{ID: "url-credentials", Description: "credentials inside a URL",
		Keywords: []string{"://"},
		Expr:     `[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]{1,64}:([^\s:/@]{6,128})@[^\s/]+`, Group: 1},
}

// placeholders are values of password assignments that are clearly not
// secrets.
var placeholders = map[string]bool{
	"********": true, "xxxxxxxx": true, "changeme": true, "password": true, "redacted": true,
	"<redacted>": true, "placeholder": true, "example1": true,
}
