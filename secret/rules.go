// Package secret finds secrets in evidence as it streams in: private keys,
// cloud, forge and SaaS tokens, JWTs, credential files, password
// assignments and high-entropy strings. It reports where a secret is and
// which rule found it, never the secret itself, and can redact what it
// finds. ScanText and RedactArgs do the same for text fields and command
// lines.
package secret

import (
	"regexp"
	"sync"
)

// Rule is one kind of secret. A line is only matched against Pattern when
// it contains one of Keywords (compared in lower case unless
// CaseSensitive), which keeps the scan fast on ordinary text.
type Rule struct {
	ID          string
	Description string
	Keywords    []string
	// CaseSensitive compares Keywords as written: "SK" but not "task".
	CaseSensitive bool
	// Expr is the rule's regular expression; it is compiled on first use.
	Expr string
	// Group is the submatch that holds the secret; 0 is the whole match
	// and AnyGroup the first submatch that took part.
	Group int
	// Check, when set, is used instead of Expr and runs on every line:
	// it returns the [start, end) spans of secrets in the line's text
	// (without its line ending).
	Check func(line []byte) [][2]int
}

// checked lists the rules with a Check function, which run on every line.
var checked = sync.OnceValue(func() []int {
	var out []int
	for i, r := range Rules {
		if r.Check != nil {
			out = append(out, i)
		}
	}
	return out
})

// AnyGroup as a Rule's Group picks the first submatch that took part,
// for expressions with one alternative per layout.
const AnyGroup = -1

// compiled holds the rules' patterns, compiled once when a scan first
// needs them rather than at every start of the program.
var compiled = sync.OnceValue(func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(Rules))
	for i, r := range Rules {
		if r.Expr != "" {
			out[i] = regexp.MustCompile(r.Expr)
		}
	}
	return out
})

// Rules is the built-in rule set, most specific first: where two rules
// match the same bytes, the earlier names the finding. Formats follow
// the issuers' published token layouts.
var Rules = concat(keyRules, issuerRules, genericRules)

func concat(lists ...[]*Rule) []*Rule {
	var out []*Rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// assigned builds an expression for a value assigned to a name that
// mentions context (as in TWILIO_AUTH_TOKEN=...), in env, YAML, JSON and
// code syntax; the value is submatch 1.
func assigned(context, value string) string {
	return `(?i)(?:` + context + `)[\w.-]{0,30}?["']?\s*(?::=|=>|=|:)\s*["']?(` + value + `)(?:\b|$)`
}

// keyRules find private keys and credential files.
var keyRules = []*Rule{
	{ID: "private-key", Description: "PEM private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP), to its END line",
		Keywords: []string{"private key"},
		Expr:     `-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY( BLOCK)?-----`},
	{ID: "putty-private-key", Description: "PuTTY key file private lines",
		Keywords: []string{"private-lines:"},
		Expr:     `^\s*Private-Lines:\s*\d{1,4}\s*$`},
	{ID: "age-secret-key", Description: "age encryption secret key",
		Keywords: []string{"age-secret-key-1"},
		Expr:     `\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b`},
	{ID: "kubeconfig-credential", Description: "kubeconfig client key or certificate data",
		Keywords: []string{"client-key-data", "client-certificate-data"},
		Expr:     `(?i)\bclient-(?:key|certificate)-data["']?\s*:\s*["']?([A-Za-z0-9+/=]{16,})`, Group: 1},
	{ID: "netrc-password", Description: ".netrc machine entry password",
		Keywords: []string{"machine", "password"}, CaseSensitive: true,
		Expr: `\b(?:machine\s+\S+|default)\s+(?:login|account)\s+\S+.*?\bpassword\s+(\S+)|^\s*password\s+(\S{4,})\s*$`, Group: AnyGroup},
	{ID: "pgpass-password", Description: ".pgpass line (host:port:database:user:password)",
		Check: pgpassSpans},
}

// genericRules catch secrets by their surroundings rather than their
// issuer, so they come last.
var genericRules = []*Rule{
	{ID: "jwt", Description: "JSON Web Token",
		Keywords: []string{"eyj"},
		Expr:     `\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`},
	{ID: "authorization-header", Description: "HTTP Authorization header credentials",
		Keywords: []string{"authorization"},
		Expr:     `(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:basic|bearer|token|bot|digest|negotiate|apikey|sso-key)\s+([A-Za-z0-9+/=._~:-]{8,})`, Group: 1},
	{ID: "curl-user-credentials", Description: "curl -u user:password",
		Keywords: []string{"curl"},
		Expr:     `\bcurl\b.*?\s(?:-u\s*|--user[= ]\s*)["']?[^\s:"']*:([^\s"']{3,})`, Group: 1},
	{ID: "password-assignment", Description: "password, secret or token assigned a literal value",
		Keywords: []string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key"},
		Expr: (`(?i)\b(?:[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key))\b["']?\s*(?::=|=|:)\s*["']?` +
			`([^\s"'$<>{}()\[\],;]{8,})`), Group: 1},
	{ID: "url-credentials", Description: "credentials inside a URL",
		Keywords: []string{"://"},
		Expr:     `[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]{1,64}:([^\s:/@]{3,128})@[^\s/]+`, Group: 1},
}

// placeholders are values of password assignments that are clearly not
// secrets.
var placeholders = map[string]bool{
	"********": true, "xxxxxxxx": true, "changeme": true, "password": true, "redacted": true,
	"<redacted>": true, "placeholder": true, "example1": true,
}
