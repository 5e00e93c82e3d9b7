package fairway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Evidence kinds. Any kind matching the name rules may be recorded; these
// are the ones Fairway itself knows.
const (
	EvidenceCommandResult = "command-result"
	EvidenceSourceSHA     = "source-sha"
	EvidenceEnvironment   = "environment"
	EvidenceLog           = "log"
	EvidenceScreenshot    = "screenshot"
	EvidenceUATReport     = "uat-report"
	EvidenceTestReport    = "test-report"
	EvidenceScanOutput    = "scan-output"
	EvidenceSmoke         = "smoke"
	EvidenceRollbackPlan  = "rollback-plan"
	EvidenceExport        = "export"
	EvidenceDrill         = "drill"
	EvidenceDiff          = "diff"
	// EvidenceCITerminal is a watched CI run's terminal state: what a
	// monitor task's gate waits for.
	EvidenceCITerminal = "ci-terminal"
	// EvidenceContext holds transcripts and chat: useful to a reader,
	// never proof of anything (R11).
	EvidenceContext = "context"
)

// EvidenceKinds lists the known kinds.
var EvidenceKinds = []string{
	EvidenceCommandResult, EvidenceSourceSHA, EvidenceEnvironment, EvidenceLog, EvidenceScreenshot,
	EvidenceUATReport, EvidenceTestReport, EvidenceScanOutput, EvidenceSmoke, EvidenceRollbackPlan,
	EvidenceExport, EvidenceDrill, EvidenceDiff, EvidenceContext,
}

// CountsAsProof is the single check that decides whether evidence can
// satisfy a requirement. Context evidence (transcripts, chat) never can,
// whatever it says.
func CountsAsProof(e *Evidence) bool {
	return e != nil && e.Kind != EvidenceContext
}

// ChainProof extends a task's proof chain with one more piece of proof
// evidence. Every store keeps the chain the same way, so a snapshot that
// includes it means the same everywhere.
func ChainProof(prev string, e *Evidence) string {
	sum := sha256.Sum256([]byte(prev + "\n" + e.ID + " " + e.Digest))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ProofLink is the head of a task's proof chain after one more piece of
// proof evidence: how many proof records it has, and the chain over them.
type ProofLink struct {
	Count int
	Chain string
}

// Evidence is one immutable record of proof: what kind, which bytes (by
// digest), who recorded it, when, and where it came from. A correction is
// new evidence that Supersedes the old.
type Evidence struct {
	ID             string       `json:"id"`
	Task           string       `json:"task"`
	Kind           string       `json:"kind"`
	Digest         string       `json:"digest"`
	Size           int64        `json:"size"`
	MediaType      string       `json:"media_type"`
	Filename       string       `json:"filename,omitempty"`
	Note           string       `json:"note,omitempty"`
	RecordedBy     string       `json:"recorded_by"`
	RecordedByKind string       `json:"recorded_by_kind"`
	Session        string       `json:"session,omitempty"`
	RecordedAt     time.Time    `json:"recorded_at"`
	Supersedes     string       `json:"supersedes,omitempty"`
	Command        *Command     `json:"command,omitempty"`
	Source         *SourceState `json:"source,omitempty"`
	Environment    *Environment `json:"environment,omitempty"`
	Summary        *Summary     `json:"summary,omitempty"`
	Scan           ScanReport   `json:"scan"`
}

// Command records one executed command: the evidence's main bytes are its
// interleaved log, and each stream is kept apart as well.
type Command struct {
	Argv         []string  `json:"argv"`
	Dir          string    `json:"dir"`
	ExitCode     int       `json:"exit_code"`
	Started      time.Time `json:"started"`
	Ended        time.Time `json:"ended"`
	Interrupted  bool      `json:"interrupted,omitempty"`
	Signal       string    `json:"signal,omitempty"`
	StdoutDigest string    `json:"stdout_digest,omitempty"`
	StdoutSize   int64     `json:"stdout_size"`
	StderrDigest string    `json:"stderr_digest,omitempty"`
	StderrSize   int64     `json:"stderr_size"`
}

// SourceState is the source tree a piece of evidence came from.
type SourceState struct {
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty"`
	Branch string `json:"branch,omitempty"`
}

// Environment fingerprints where a command ran. It holds the names of
// allow-listed environment variables, and values only of the few that are
// safe to keep.
type Environment struct {
	OS          string            `json:"os"`
	Arch        string            `json:"arch"`
	Host        string            `json:"host"`
	Tools       map[string]string `json:"tools,omitempty"`
	EnvNames    []string          `json:"env_names,omitempty"`
	EnvValues   map[string]string `json:"env_values,omitempty"`
	Fingerprint string            `json:"fingerprint"`
}

// Summary is what Fairway understood of a test or scan report.
type Summary struct {
	Format string `json:"format"` // junit or sarif
	// JUnit.
	Tests   int `json:"tests,omitempty"`
	Passed  int `json:"passed,omitempty"`
	Failed  int `json:"failed,omitempty"`
	Errors  int `json:"errors,omitempty"`
	Skipped int `json:"skipped,omitempty"`
	// SARIF: findings per severity level (error, warning, note, none).
	Findings map[string]int `json:"findings,omitempty"`
	Tools    []string       `json:"tools,omitempty"`
	// CI run (format ci-run): how a watched run ended, as its ci-terminal
	// record says (success, failure, cancelled, …).
	Conclusion string `json:"conclusion,omitempty"`
}

// SecretFinding says where a secret was found, never what it was.
type SecretFinding struct {
	Part   string `json:"part"` // content, stdout or stderr
	Rule   string `json:"rule"`
	Line   int64  `json:"line"`
	Column int    `json:"column"`
}

// Secret handling actions, chosen per evidence kind by policy.
const (
	SecretRefuse = "refuse"
	SecretRedact = "redact"
)

// ScanReport is the outcome of the secret scan of the evidence's bytes.
type ScanReport struct {
	Scanned  bool            `json:"scanned"`
	Skipped  string          `json:"skipped,omitempty"`
	Findings []SecretFinding `json:"findings,omitempty"`
	Redacted bool            `json:"redacted,omitempty"`
}

// EvidenceAdd is the input to record evidence. The bytes travel beside it
// as EvidenceParts; Expected*Digest, when set, must match the bytes sent.
type EvidenceAdd struct {
	Task                 string       `json:"task"`
	Kind                 string       `json:"kind"`
	Filename             string       `json:"filename,omitempty"`
	MediaType            string       `json:"media_type,omitempty"`
	Note                 string       `json:"note,omitempty"`
	Supersedes           string       `json:"supersedes,omitempty"`
	ExpectedDigest       string       `json:"expected_digest,omitempty"`
	ExpectedStdoutDigest string       `json:"expected_stdout_digest,omitempty"`
	ExpectedStderrDigest string       `json:"expected_stderr_digest,omitempty"`
	Command              *Command     `json:"command,omitempty"`
	Source               *SourceState `json:"source,omitempty"`
	Environment          *Environment `json:"environment,omitempty"`
}

// EvidenceParts carries evidence bytes. They are read in order: Content,
// then Stdout, then Stderr (the last two only for command results).
type EvidenceParts struct {
	Content io.Reader
	Stdout  io.Reader
	Stderr  io.Reader
}

var kindRE = lazyRegexp(`^[a-z][a-z0-9-]{0,62}$`)

// Validate checks the fields that need no store.
func (a *EvidenceAdd) Validate() error {
	if err := ValidateKey("task", a.Task); err != nil {
		return err
	}
	if a.Kind == "" {
		return FieldError("kind", "is required: say what the evidence is, e.g. %s", strings.Join(EvidenceKinds[:5], ", "))
	}
	if !kindRE().MatchString(a.Kind) {
		return FieldError("kind", "%q is not an evidence kind: use lower-case letters, digits and '-', e.g. %s", clip(a.Kind), strings.Join(EvidenceKinds[:5], ", "))
	}
	if len(a.Filename) > 500 || strings.ContainsAny(a.Filename, "\x00\n") {
		return FieldError("filename", "must be at most 500 characters on one line")
	}
	if err := CheckLine("filename", a.Filename, 500); err != nil {
		return err
	}
	if err := CheckText("note", a.Note, 4000); err != nil {
		return err
	}
	if err := CheckLine("media_type", a.MediaType, 200); err != nil {
		return err
	}
	for field, d := range map[string]string{"expected_digest": a.ExpectedDigest, "expected_stdout_digest": a.ExpectedStdoutDigest, "expected_stderr_digest": a.ExpectedStderrDigest} {
		if d != "" {
			if err := ValidateDigest(field, d); err != nil {
				return err
			}
		}
	}
	if a.Command != nil {
		if len(a.Command.Argv) == 0 {
			return FieldError("command.argv", "is required for a command record")
		}
		if a.Command.Ended.Before(a.Command.Started) {
			return FieldError("command.ended", "is before command.started")
		}
		if err := a.Command.Check(); err != nil {
			return err
		}
	}
	if a.Source != nil {
		if err := a.Source.Check(); err != nil {
			return err
		}
	}
	if a.Environment != nil {
		return a.Environment.Check()
	}
	return nil
}

// Check refuses a command record's text that cannot be stored and shown
// safely, as CheckText does for every other text field: each argument
// (which may span lines, as a script given to sh -c does), the working
// dir and the signal (one line each). A runner checks argv and dir before
// it starts the command, so that a record refused here was never of a
// command that ran.
func (c *Command) Check() error {
	for i, arg := range c.Argv {
		if err := CheckText(fmt.Sprintf("command.argv[%d]", i), arg, 0); err != nil {
			return err
		}
	}
	if err := CheckLine("command.dir", c.Dir, 0); err != nil {
		return err
	}
	return CheckLine("command.signal", c.Signal, 100)
}

// Check refuses a source state's commit or branch that cannot be stored
// and shown safely: git allows a branch name with bidirectional
// overrides.
func (s *SourceState) Check() error {
	if err := CheckLine("source.commit", s.Commit, 200); err != nil {
		return err
	}
	return CheckLine("source.branch", s.Branch, 1000)
}

// Check refuses an environment fingerprint whose text cannot be stored
// and shown safely; map entries are checked in the order of their keys.
func (e *Environment) Check() error {
	for _, f := range []struct{ name, v string }{{"environment.os", e.OS}, {"environment.arch", e.Arch}, {"environment.host", e.Host}, {"environment.fingerprint", e.Fingerprint}} {
		if err := CheckLine(f.name, f.v, 1000); err != nil {
			return err
		}
	}
	for _, n := range e.EnvNames {
		if err := CheckLine("environment.env_names", n, 200); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		field string
		m     map[string]string
	}{{"environment.tools", e.Tools}, {"environment.env_values", e.EnvValues}} {
		for _, k := range slices.Sorted(maps.Keys(m.m)) {
			if err := CheckLine(m.field, k, 200); err != nil {
				return err
			}
			if err := CheckLine(m.field+"["+k+"]", m.m[k], 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// EvidenceFilter selects evidence to list.
type EvidenceFilter struct {
	Task string `json:"task,omitempty"`
	Kind string `json:"kind,omitempty"`
}

// EvidenceVerification is the result of recomputing every blob digest.
type EvidenceVerification struct {
	OK       bool              `json:"ok"`
	Checked  int               `json:"checked"`
	Problems []EvidenceProblem `json:"problems,omitempty"`
}

// EvidenceProblem names evidence whose bytes no longer match.
type EvidenceProblem struct {
	Evidence string `json:"evidence"`
	Part     string `json:"part"`
	Digest   string `json:"digest"`
	Problem  string `json:"problem"`
}

// Claim is what an agent (or anyone) says about its work: "tests pass",
// "done". Shown to reviewers, never evidence (R11).
type Claim struct {
	ID        int64     `json:"id"`
	Task      string    `json:"task"`
	Text      string    `json:"text"`
	Actor     string    `json:"actor"`
	ActorKind string    `json:"actor_kind"`
	Session   string    `json:"session,omitempty"`
	At        time.Time `json:"at"`
}

// ClaimAdd is the input to record a claim.
type ClaimAdd struct {
	Task string `json:"task"`
	Text string `json:"text"`
}

// Validate checks the claim input.
func (c *ClaimAdd) Validate() error {
	if err := ValidateKey("task", c.Task); err != nil {
		return err
	}
	if strings.TrimSpace(c.Text) == "" {
		return FieldError("text", "is required: say what is claimed")
	}
	return CheckText("text", c.Text, 10000)
}

// EvidencePart names the bytes of an evidence record to read.
const (
	PartContent = "content"
	PartStdout  = "stdout"
	PartStderr  = "stderr"
)

// ReadEvidence reads one part of an evidence record whole, refusing a
// part of more than limit bytes. Reading to the end is what lets the
// service check that the bytes are the ones the record names; a reader
// that stops early (a JSON decoder at the end of its value) gets no such
// check.
func ReadEvidence(ctx context.Context, svc EvidenceService, id, part string, limit int64) ([]byte, error) {
	rc, err := svc.OpenEvidence(ctx, id, part)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, Errorf(EINVALID, "evidence %s's %s is larger than the %d bytes read here", id, part, limit)
	}
	return b, nil
}

// EvidenceService records and reads evidence and claims.
type EvidenceService interface {
	AddEvidence(ctx context.Context, a EvidenceAdd, parts EvidenceParts) (*Evidence, error)
	GetEvidence(ctx context.Context, id string) (*Evidence, error)
	ListEvidence(ctx context.Context, f EvidenceFilter) ([]*Evidence, error)
	// OpenEvidence reads the exact bytes of one part of an evidence record.
	OpenEvidence(ctx context.Context, id, part string) (io.ReadCloser, error)
	VerifyEvidence(ctx context.Context) (*EvidenceVerification, error)
	AddClaim(ctx context.Context, c ClaimAdd) (*Claim, error)
	ListClaims(ctx context.Context, task string) ([]*Claim, error)
}
