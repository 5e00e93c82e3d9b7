package secret

import (
	"bytes"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// ScanText returns the secrets in a text field (a title, a claim, a
// reason), with the same rules as a stream. Line and Column are within s.
func ScanText(s string) []Finding {
	_, fs := scanString(s, false)
	return fs
}

// RedactText returns s with every secret replaced by "[REDACTED:rule]",
// and the findings.
func RedactText(s string) (string, []Finding) { return scanString(s, true) }

func scanString(s string, redact bool) (string, []Finding) {
	var out bytes.Buffer
	sc := NewScanner(nil)
	if redact {
		sc.Out = &out
	}
	sc.Write([]byte(s)) // a bytes.Buffer never fails
	sc.Close()
	if !redact {
		return s, sc.Findings()
	}
	return out.String(), sc.Findings()
}

// Rule IDs of findings that only command lines and environments have.
const (
	ruleSecretFlag = "secret-flag-value" // --password=x, --token x
	ruleSecretEnv  = "secret-env-value"  // PASSWORD=x, or a variable so named
	ruleHeader     = "secret-header"     // -H "X-Api-Key: x"
)

// RedactArgs returns argv with the secrets in its arguments replaced by
// "[REDACTED:rule]", and the findings, each with Arg set to the index of
// its argument. Besides the rules of ScanText it knows where command lines
// put credentials: the value of a flag named like a password or token
// (--password=x, or --token x as two arguments), curl's -u user:password,
// header arguments (Authorization: Bearer x), user:password@ in URLs,
// NAME=value with a secret's name, mysql's -pPASSWORD and openssl's
// pass:PASSWORD.
func RedactArgs(argv []string) ([]string, []Finding) {
	out := make([]string, len(argv))
	var all []Finding
	prog := ""
	if len(argv) > 0 {
		prog = strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
	}
	for i, a := range argv {
		var spans []span
		if i > 0 {
			spans = argSpans(prog, argv[i-1], a, i > 1)
		}
		red, fs := redactSpans(a, spans)
		for j := range fs {
			fs[j].Arg = i
		}
		out[i], all = red, append(all, fs...)
	}
	return out, all
}

// RedactEnvValue returns an environment variable's value fit to record:
// the whole value when the name says it holds a secret (DB_PASSWORD,
// GITHUB_TOKEN, STRIPE_KEY), else the value with any secret it holds
// redacted.
func RedactEnvValue(name, value string) (string, []Finding) {
	if value != "" && secretEnvName(name) && !isReference(value) {
		return redactSpans(value, []span{{ruleSecretEnv, 0, len(value)}})
	}
	return RedactText(value)
}

type span struct {
	rule       string
	start, end int
}

// redactSpans redacts the given spans of s and whatever ScanText finds
// outside them.
func redactSpans(s string, spans []span) (string, []Finding) {
	spans = append([]span(nil), spans...)
	for _, f := range ScanText(s) {
		spans = append(spans, span{f.Rule, int(f.Offset), int(f.Offset) + f.Length})
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var b strings.Builder
	var fs []Finding
	pos := 0
	for _, sp := range spans {
		if sp.start < pos || sp.end <= sp.start {
			continue // overlaps one already redacted
		}
		b.WriteString(s[pos:sp.start])
		b.WriteString("[REDACTED:" + sp.rule + "]")
		line := int64(1 + strings.Count(s[:sp.start], "\n"))
		col := sp.start - (strings.LastIndexByte(s[:sp.start], '\n') + 1) + 1
		fs = append(fs, Finding{Rule: sp.rule, Line: line, Column: col, Offset: int64(sp.start), Length: sp.end - sp.start})
		pos = sp.end
	}
	b.WriteString(s[pos:])
	return b.String(), fs
}

// Compiled on first use, not at every start of the program.
var (
	headerArg  = lazyRegexp(`^\s*([A-Za-z0-9_-]+)\s*:\s*(.+?)\s*$`)
	schemeWord = lazyRegexp(`^(?i:basic|bearer|token|bot|digest|negotiate|apikey|sso-key)\s+`)
	urlUser    = lazyRegexp(`[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:([^\s/@]+)@`)
	envAssign  = lazyRegexp(`^([A-Za-z_][A-Za-z0-9_]*)=(.+)$`)
)

func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// mysqlTools take the password attached to -p.
var mysqlTools = map[string]bool{"mysql": true, "mysqldump": true, "mysqladmin": true, "mysqlimport": true,
	"mysqlshow": true, "mysqlcheck": true, "mariadb": true, "mariadb-dump": true}

// argSpans finds the credentials in argument a that only its place on a
// command line shows; prev is the argument before it.
func argSpans(prog, prev, a string, prevIsArg bool) []span {
	var out []span
	// The value of a flag given as two arguments.
	if prevIsArg && !strings.Contains(prev, "=") {
		name := flagName(prev)
		switch {
		case name == "":
		case name == "u" || name == "user" || name == "proxy-user":
			if i := strings.IndexByte(a, ':'); i >= 0 && userPassword(a[i+1:]) {
				out = append(out, span{"curl-user-credentials", i + 1, len(a)})
			}
		case name == "p" && prog == "sshpass":
			out = append(out, span{ruleSecretFlag, 0, len(a)})
		case name == "pass" || name == "passin" || name == "passout":
			if strings.HasPrefix(a, "pass:") {
				out = append(out, span{ruleSecretFlag, 5, len(a)})
			}
		case secretFlagName(name) && a != "" && !isReference(a):
			out = append(out, span{ruleSecretFlag, 0, len(a)})
		}
	}
	// A flag and its value in one argument.
	if name, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "-") && v != "" {
		at := len(name) + 1
		switch n := flagName(name); {
		case n == "user" || n == "proxy-user":
			if i := strings.IndexByte(v, ':'); i >= 0 && userPassword(v[i+1:]) {
				out = append(out, span{"curl-user-credentials", at + i + 1, len(a)})
			}
		case secretFlagName(n) && !isReference(v):
			out = append(out, span{ruleSecretFlag, at, len(a)})
		}
	}
	switch {
	case strings.HasPrefix(a, "-u") && len(a) > 2 && !strings.HasPrefix(a, "--") && !strings.Contains(a, "="):
		if i := strings.IndexByte(a, ':'); i >= 0 && userPassword(a[i+1:]) {
			out = append(out, span{"curl-user-credentials", i + 1, len(a)})
		}
	case mysqlTools[prog] && strings.HasPrefix(a, "-p") && len(a) > 2 && !strings.HasPrefix(a, "--"):
		out = append(out, span{ruleSecretFlag, 2, len(a)})
	}
	// A header: Authorization: Bearer x, X-Api-Key: x.
	if m := headerArg().FindStringSubmatchIndex(a); m != nil {
		name := strings.ToLower(a[m[2]:m[3]])
		start := m[4]
		if strings.HasSuffix(name, "authorization") {
			if w := schemeWord().FindStringIndex(a[start:]); w != nil {
				start += w[1]
			}
			out = append(out, span{"authorization-header", start, m[5]})
		} else if secretHeaderName(name) {
			out = append(out, span{ruleHeader, start, m[5]})
		}
	}
	// user:password@ in a URL, however short the password.
	for _, m := range urlUser().FindAllStringSubmatchIndex(a, -1) {
		out = append(out, span{"url-credentials", m[2], m[3]})
	}
	// NAME=value, as given to env, docker -e or make.
	if m := envAssign().FindStringSubmatchIndex(a); m != nil && secretEnvName(a[m[2]:m[3]]) && !isReference(a[m[4]:m[5]]) {
		out = append(out, span{ruleSecretEnv, m[4], m[5]})
	}
	return out
}

// userPassword is false for what follows the colon of uid:gid.
func userPassword(p string) bool {
	if p == "" {
		return false
	}
	return strings.Trim(p, "0123456789") != ""
}

// flagName is a flag's name without dashes and value, in lower case, or
// "" when a is not a flag.
func flagName(a string) string {
	if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
		return ""
	}
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return strings.ToLower(name)
}

// isReference is true for values that name a secret rather than hold it:
// $VAR, ${VAR}, env.NAME.
func isReference(v string) bool {
	return strings.HasPrefix(v, "$") || looksLikeReference([]byte(v))
}

// notSecretSuffixes end names whose value says where a secret is or how
// it is used, not the secret: --password-file, TOKEN_TTL, SSH_AUTH_SOCK.
var notSecretSuffixes = map[string]bool{"file": true, "path": true, "dir": true, "env": true, "name": true,
	"id": true, "ttl": true, "type": true, "url": true, "uri": true, "endpoint": true, "stdin": true,
	"length": true, "len": true, "expiry": true, "expires": true, "mode": true, "method": true,
	"helper": true, "command": true, "cmd": true, "sock": true, "socket": true, "policy": true,
	"role": true, "arn": true, "count": true, "limit": true, "parallelism": true, "audience": true}

func words(name string) []string {
	return strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
}

// secretFlagName says whether a command-line flag's value is a secret.
func secretFlagName(name string) bool {
	w := words(name)
	if len(w) == 0 || notSecretSuffixes[w[len(w)-1]] {
		return false
	}
	for i, x := range w {
		switch x {
		case "password", "passwd", "secret", "token", "passphrase", "credential", "credentials", "apikey", "pat":
			return true
		case "key":
			if i > 0 && (w[i-1] == "api" || w[i-1] == "access" || w[i-1] == "secret" || w[i-1] == "auth" || w[i-1] == "license") {
				return true
			}
		}
		if strings.Contains(x, "password") || strings.HasSuffix(x, "token") || strings.HasSuffix(x, "secret") {
			return true
		}
	}
	return false
}

// secretEnvName says whether an environment variable named so holds a
// secret.
func secretEnvName(name string) bool {
	if u := strings.ToUpper(name); u == "PWD" || u == "OLDPWD" {
		return false
	}
	w := words(name)
	if len(w) == 0 || notSecretSuffixes[w[len(w)-1]] {
		return false
	}
	for _, x := range w {
		switch x {
		case "password", "passwd", "pwd", "pass", "secret", "token", "passphrase", "credential", "credentials",
			"apikey", "key", "auth", "cookie", "dsn", "pat":
			return true
		}
		if strings.Contains(x, "password") || strings.HasSuffix(x, "token") || strings.HasSuffix(x, "secret") {
			return true
		}
	}
	return false
}

// secretHeaderName says whether an HTTP header of this name carries a
// credential (X-Api-Key, Private-Token, Cookie, X-Amz-Security-Token).
func secretHeaderName(name string) bool {
	if name == "cookie" || name == "set-cookie" {
		return true
	}
	for _, x := range words(name) {
		switch x {
		case "token", "key", "apikey", "secret", "password", "auth", "signature", "session":
			return true
		}
	}
	return false
}
