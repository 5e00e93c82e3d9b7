package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"fairway"
	"fairway/report"
	"fairway/secret"
)

// defaultSecretAction is the secret policy until a governance policy
// says otherwise: logs and transcripts are redacted (they are mostly
// useful without the secret), everything else is refused.
func defaultSecretAction(kind string) string {
	switch kind {
	case fairway.EvidenceLog, fairway.EvidenceCommandResult, fairway.EvidenceContext, fairway.EvidenceSmoke:
		return fairway.SecretRedact
	}
	return fairway.SecretRefuse
}

// chunkSize is the unit evidence bytes stream in; a few chunks in flight
// bound the memory of an upload of any size.
const chunkSize = 1 << 20

// chunkPool holds *[]byte so that putting a chunk back allocates nothing.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// staged is one part of an evidence upload, staged in the blob store.
type staged struct {
	part     string
	w        fairway.BlobWriter
	original string // digest of the bytes as sent
	sniff    []byte
	scanned  bool
	findings []secret.Finding
}

// ingest streams r into a new staged blob while scanning it for secrets
// on another goroutine, chunk by chunk.
func (l *Ledger) ingest(ctx context.Context, part string, r io.Reader) (*staged, error) {
	w, err := l.Blobs.Create(ctx)
	if err != nil {
		return nil, err
	}
	st := &staged{part: part, w: w}
	// Chunks come from a pool and are added only as the stream needs them:
	// a small part costs one chunk, a large one at most four in flight.
	free := make(chan []byte, 4)
	made := 0
	defer func() {
		for range made {
			b := <-free
			chunkPool.Put(&b)
		}
	}()
	take := func() []byte {
		select {
		case b := <-free:
			return b
		default:
		}
		if made < cap(free) {
			made++
			return *chunkPool.Get().(*[]byte)
		}
		return <-free
	}
	var work chan []byte
	var scanDone chan struct{}
	var sc *secret.Scanner
	var failed error
	for first := true; ; first = false {
		buf := take()
		n, rerr := io.ReadFull(r, buf)
		if first {
			// Every byte is scanned, whatever it starts with: a media
			// type header followed by text must not hide a secret.
			st.sniff = append([]byte(nil), buf[:min(n, 512)]...)
			st.scanned = true
			sc = secret.NewScanner(nil)
			work, scanDone = make(chan []byte, cap(free)), make(chan struct{})
			go func() {
				defer close(scanDone)
				for b := range work {
					sc.Write(b)
					free <- b[:cap(b)]
				}
				sc.Close()
			}()
		}
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				failed = err
			}
		}
		if work != nil && n > 0 && failed == nil {
			work <- buf[:n]
		} else {
			free <- buf
		}
		if failed != nil {
			break
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			failed = fmt.Errorf("read %s: %w", part, rerr)
			break
		}
		if err := ctx.Err(); err != nil {
			failed = err
			break
		}
	}
	if work != nil {
		close(work)
		<-scanDone
	}
	if failed != nil {
		w.Abort()
		return nil, failed
	}
	st.original = w.Digest()
	if sc != nil {
		st.findings = sc.Findings()
	}
	return st, nil
}

// redact replaces a staged part with a copy whose secrets are masked.
func (l *Ledger) redact(ctx context.Context, st *staged) error {
	src, err := st.w.Reader()
	if err != nil {
		return err
	}
	defer src.Close()
	w, err := l.Blobs.Create(ctx)
	if err != nil {
		return err
	}
	sc := secret.NewScanner(w)
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	if _, err := io.CopyBuffer(sc, src, *buf); err != nil {
		w.Abort()
		return err
	}
	if err := sc.Close(); err != nil {
		w.Abort()
		return err
	}
	st.w.Abort()
	st.w = w
	return nil
}

func mediaType(filename, hint string, sniff []byte) string {
	if hint != "" {
		return hint
	}
	if ext := filepath.Ext(filename); ext != "" {
		switch strings.ToLower(ext) {
		case ".sarif":
			return "application/sarif+json"
		case ".log", ".txt", ".out":
			return "text/plain; charset=utf-8"
		}
		if mt := mime.TypeByExtension(ext); mt != "" {
			return mt
		}
	}
	return http.DetectContentType(sniff)
}

// evidenceText is the text of an evidence record that is kept as sent,
// for refuseSecretText: everything but the argv and the environment's
// values, which are redacted instead (redactCommand). Map keys are text
// too: a tool's name is kept beside its version.
func evidenceText(a fairway.EvidenceAdd) any {
	type command struct {
		Dir    string `json:"dir"`
		Signal string `json:"signal"`
	}
	type environment struct {
		OS          string   `json:"os"`
		Arch        string   `json:"arch"`
		Host        string   `json:"host"`
		Tools       []string `json:"tools"`
		EnvNames    []string `json:"env_names"`
		Fingerprint string   `json:"fingerprint"`
	}
	out := struct {
		Task        string               `json:"task"`
		Kind        string               `json:"kind"`
		Filename    string               `json:"filename"`
		Note        string               `json:"note"`
		MediaType   string               `json:"media_type"`
		Command     *command             `json:"command"`
		Source      *fairway.SourceState `json:"source"`
		Environment *environment         `json:"environment"`
	}{Task: a.Task, Kind: a.Kind, Filename: a.Filename, Note: a.Note, MediaType: a.MediaType, Source: a.Source}
	if c := a.Command; c != nil {
		out.Command = &command{Dir: c.Dir, Signal: c.Signal}
	}
	if e := a.Environment; e != nil {
		env := &environment{OS: e.OS, Arch: e.Arch, Host: e.Host, EnvNames: e.EnvNames, Fingerprint: e.Fingerprint}
		for _, name := range slices.Sorted(maps.Keys(e.Tools)) {
			env.Tools = append(env.Tools, name, e.Tools[name])
		}
		out.Environment = env
	}
	return out
}

// AddEvidence streams the parts into the blob store, scanning each for
// secrets, then writes the record and its audit event in one transaction.
// On any failure no record is written and no new blob is left behind.
func (l *Ledger) AddEvidence(ctx context.Context, a fairway.EvidenceAdd, parts fairway.EvidenceParts) (*fairway.Evidence, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(evidenceText(a)); err != nil {
		return nil, err
	}
	if parts.Content == nil {
		return nil, fairway.FieldError("content", "evidence needs its bytes")
	}
	if (parts.Stdout != nil || parts.Stderr != nil) && a.Command == nil {
		return nil, fairway.FieldError("command", "stdout and stderr parts belong to a command record")
	}
	// Fail before reading any bytes when the request cannot succeed, and
	// learn what the policy in force does with a secret in this kind.
	var by *fairway.Actor
	var notCI *fairway.Error
	action := defaultSecretAction(a.Kind)
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		if by, err = l.actor(ctx, tx); err != nil {
			return err
		}
		if a.Kind == fairway.EvidenceCITerminal {
			notCI = ciConclusionRefusal(by, fairway.AuthFromContext(ctx).Session, a.Task)
		}
		p, _, err := l.activePolicy(tx)
		if err != nil {
			return err
		}
		if p != nil {
			action = p.SecretAction(a.Kind)
		}
		if _, err := tx.Task(a.Task); err != nil {
			return err
		}
		return checkSupersedes(tx, a.Task, a.Kind, a.Supersedes)
	})
	if err != nil {
		return nil, err
	}
	if notCI != nil {
		return nil, l.write(ctx, "evidence", a.Task, func(w *write) error {
			if err := w.onTask(a.Task); err != nil {
				return err
			}
			return w.refuseWith(notCI, map[string]any{"code": notCI.Code, "reason": notCI.Message, "kind": a.Kind, "filename": a.Filename})
		})
	}

	all, err := l.stageParts(ctx, a, parts)
	if err != nil {
		return nil, err
	}
	abortAll := all.abort

	// Secrets: refuse or redact, as policy says for this kind. Either way
	// the finding (rule and place, never the value) is audited.
	findings := all.findings()
	if len(findings) > 0 && action != fairway.SecretRedact {
		abortAll()
		refusal := &fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf(
			"evidence refused: the %s holds a secret (%s, line %d, column %d%s); policy refuses secrets in %s evidence, so remove it and record again",
			findings[0].Part, findings[0].Rule, findings[0].Line, findings[0].Column, more(len(findings)-1), a.Kind)}
		return nil, l.write(ctx, "evidence", a.Task, func(w *write) error {
			if err := w.onTask(a.Task); err != nil {
				return err
			}
			return w.refuseWith(refusal, map[string]any{
				"kind": a.Kind, "filename": a.Filename, "reason": "secret", "findings": findings,
			})
		})
	}
	for _, st := range all {
		if len(st.findings) > 0 {
			if err := l.redact(ctx, st); err != nil {
				abortAll()
				return nil, err
			}
		}
	}

	// Command lines and recorded environment values are redacted, never
	// refused: the command already ran, and its record is the proof.
	findings = append(findings, redactCommand(a.Command, a.Environment)...)
	e := &fairway.Evidence{
		Task: a.Task, Kind: a.Kind, Filename: a.Filename, Note: a.Note, Supersedes: a.Supersedes,
		RecordedBy: by.Name, RecordedByKind: by.Kind, Session: fairway.AuthFromContext(ctx).Session, RecordedAt: l.now(),
		Source: a.Source, Environment: a.Environment,
		Scan: fairway.ScanReport{Findings: findings, Redacted: len(findings) > 0},
	}
	all.describe(e, &a)
	e.ID = evidenceID(e)

	created, err := l.commitParts(ctx, all)
	if err != nil {
		return nil, err
	}
	err = l.write(ctx, "evidence.add", e.Task, func(w *write) error {
		if err := w.onTask(e.Task); err != nil {
			return err
		}
		if e.Kind == fairway.EvidenceCITerminal {
			if refusal := ciConclusionRefusal(w.by, w.auth.Session, e.Task); refusal != nil {
				return w.refuse(refusal)
			}
		}
		// Checked again where it is written: two corrections of one
		// record racing must not both land.
		if err := checkSupersedes(w.tx, e.Task, e.Kind, e.Supersedes); err != nil {
			return err
		}
		link, err := nextProofLink(w.tx, e)
		if err != nil {
			return err
		}
		if err := w.tx.InsertEvidence(e, link); err != nil {
			return err
		}
		return w.record(map[string]any{
			"id": e.ID, "kind": e.Kind, "digest": e.Digest, "size": e.Size, "supersedes": e.Supersedes, "scan": e.Scan,
			"record": recordDigest(e), // the whole record, checkable against the log (R8)
		})
	})
	if err != nil {
		l.removeBlobs(created)
		return nil, err
	}
	return e, nil
}

// ciConclusionRefusal says why an actor may not record how a CI run
// ended (ci-terminal evidence), or nil. That is the CI system's word: its
// service actor delivers it through the CI webhook, or a human records
// it. An agent, or anyone acting through a session, could otherwise
// write "success" for a run that never passed.
func ciConclusionRefusal(by *fairway.Actor, session, task string) *fairway.Error {
	var who string
	switch {
	case session != "":
		who = fmt.Sprintf("this request comes with a session credential (session %s)", session)
	case by.Kind == fairway.KindAgent:
		who = by.Name + " is an agent"
	default:
		return nil
	}
	return &fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf(
		"%s evidence records how a CI run ended, which is the CI system's word, and %s: a CI conclusion is delivered by the CI system's service actor "+
			"(the CI webhook, POST /api/v1/webhooks/github or /api/v1/webhooks/generic, or `fairway monitor record --task %s --run ID --conclusion C --as SERVICE`) or recorded by a human. "+
			"Record what you ran yourself as a command instead: `fairway run --task %s -- CMD`",
		fairway.EvidenceCITerminal, who, task, task)}
}

// stagedParts are an evidence record's parts, streamed into the blob
// store and not yet committed to it.
type stagedParts []*staged

// stageParts streams each part given into the blob store, scanning it
// for secrets and hashing it, and checks it against the digest the
// sender expected. On an error nothing stays staged.
func (l *Ledger) stageParts(ctx context.Context, a fairway.EvidenceAdd, parts fairway.EvidenceParts) (stagedParts, error) {
	var all stagedParts
	for _, p := range []struct {
		name     string
		r        io.Reader
		expected string
	}{{fairway.PartContent, parts.Content, a.ExpectedDigest}, {fairway.PartStdout, parts.Stdout, a.ExpectedStdoutDigest}, {fairway.PartStderr, parts.Stderr, a.ExpectedStderrDigest}} {
		if p.r == nil {
			continue
		}
		st, err := l.ingest(ctx, p.name, p.r)
		if err != nil {
			all.abort()
			return nil, err
		}
		all = append(all, st)
		if p.expected != "" && p.expected != st.original {
			all.abort()
			return nil, fairway.FieldError("expected_"+strings.TrimPrefix(p.name+"_digest", "content_"),
				"the %s received has digest %s, not %s: it was changed or cut short on the way; send it again", p.name, st.original, p.expected)
		}
	}
	return all, nil
}

// abort drops every staged part.
func (all stagedParts) abort() {
	for _, st := range all {
		st.w.Abort()
	}
}

// findings are the secrets the scans found, by part: rule and place,
// never the value.
func (all stagedParts) findings() []fairway.SecretFinding {
	var out []fairway.SecretFinding
	for _, st := range all {
		for _, f := range st.findings {
			out = append(out, fairway.SecretFinding{Part: st.part, Rule: f.Rule, Line: f.Line, Column: f.Column})
		}
	}
	return out
}

// describe sets what the staged bytes say on the record: digests and
// sizes, the content's media type and scan, and a report's summary
// (JUnit, SARIF) when the content is one.
func (all stagedParts) describe(e *fairway.Evidence, a *fairway.EvidenceAdd) {
	for _, st := range all {
		switch st.part {
		case fairway.PartContent:
			e.Digest, e.Size = st.w.Digest(), st.w.Size()
			e.MediaType = mediaType(a.Filename, a.MediaType, st.sniff)
			e.Scan.Scanned = st.scanned
		case fairway.PartStdout:
			a.Command.StdoutDigest, a.Command.StdoutSize = st.w.Digest(), st.w.Size()
		case fairway.PartStderr:
			a.Command.StderrDigest, a.Command.StderrSize = st.w.Digest(), st.w.Size()
		}
	}
	e.Command = a.Command
	if st := all[0]; st.w.Size() <= maxSummarySize && mayBeReport(st.sniff) {
		if r, err := st.w.Reader(); err == nil {
			if e.Kind == fairway.EvidenceCITerminal {
				e.Summary, _ = report.CIRun(r)
			} else {
				e.Summary, _ = report.Summarize(r)
			}
			r.Close()
		}
	}
}

// commitParts commits the staged parts to the blob store and returns the
// digests it newly created (to remove if the record is not written). On
// an error nothing new is left behind.
func (l *Ledger) commitParts(ctx context.Context, all stagedParts) ([]string, error) {
	var created []string
	for _, st := range all {
		isNew, err := st.w.Commit(ctx)
		if isNew {
			created = append(created, st.w.Digest())
		}
		if err != nil {
			l.removeBlobs(created)
			all.abort()
			return nil, err
		}
	}
	return created, nil
}

// nextProofLink is the task's proof chain once e is added, or nil when e
// is not proof (R11): the ledger keeps the chain, the store stores it.
func nextProofLink(tx fairway.Tx, e *fairway.Evidence) (*fairway.ProofLink, error) {
	if !fairway.CountsAsProof(e) {
		return nil, nil
	}
	n, chain, err := tx.ProofChain(e.Task)
	if err != nil {
		return nil, err
	}
	return &fairway.ProofLink{Count: n + 1, Chain: fairway.ChainProof(chain, e)}, nil
}

// checkSupersedes refuses a correction that could hide evidence: it must
// be of the same task and kind (a failing report is not corrected by a
// log), and a record is corrected once (a second correction of the same
// record would leave two heads and hide one).
func checkSupersedes(tx fairway.Tx, task, kind, id string) error {
	if id == "" {
		return nil
	}
	old, err := tx.Evidence(id)
	if err != nil {
		return err
	}
	if old.Task != task {
		return fairway.FieldError("supersedes", "evidence %s belongs to task %s, not %s", old.ID, old.Task, task)
	}
	if old.Kind != kind {
		return fairway.FieldError("supersedes", "evidence %s is %s evidence; a correction is of the same kind, not %s", old.ID, old.Kind, kind)
	}
	all, err := tx.EvidenceList(fairway.EvidenceFilter{Task: task})
	if err != nil {
		return err
	}
	for _, e := range all {
		if e.Supersedes == id {
			return fairway.FieldError("supersedes", "evidence %s was already corrected by %s; correct %s instead", id, e.ID, e.ID)
		}
	}
	return nil
}

// mayBeReport is true for bytes that start like XML or JSON, the only
// reports Fairway summarises, and for a start that is all blank space:
// what follows it decides.
func mayBeReport(sniff []byte) bool {
	t := bytes.TrimLeft(sniff, " \t\r\n\xef\xbb\xbf")
	return len(sniff) > 0 && (len(t) == 0 || t[0] == '<' || t[0] == '{')
}

// maxSummarySize bounds the reports Fairway reads back to summarise.
const maxSummarySize = 256 << 20

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(", and %d more", n)
}

// removeBlobs undoes blobs this call created when the record could not be
// written. Blobs that existed before are left: other evidence holds them.
func (l *Ledger) removeBlobs(digests []string) {
	for _, d := range digests {
		l.Blobs.Remove(context.Background(), d)
	}
}

// evidenceID derives a record's ID from its content.
// recordDigest is the SHA-256 of a whole evidence record (its ID aside):
// what the evidence.add event binds, so any field the gate reads (an exit
// code, a summary, the task) edited in the store is found by audit verify.
func recordDigest(e *fairway.Evidence) string {
	c := *e
	c.ID = ""
	body, _ := fairway.CanonicalJSON(&c)
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func evidenceID(e *fairway.Evidence) string {
	body, _ := fairway.CanonicalJSON(e)
	sum := sha256.Sum256(body)
	return "EV-" + strings.ToUpper(hex.EncodeToString(sum[:6]))
}

// GetEvidence returns one record.
func (l *Ledger) GetEvidence(ctx context.Context, id string) (*fairway.Evidence, error) {
	var e *fairway.Evidence
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		e, err = tx.Evidence(id)
		return err
	})
	return e, err
}

// ListEvidence lists records.
func (l *Ledger) ListEvidence(ctx context.Context, f fairway.EvidenceFilter) ([]*fairway.Evidence, error) {
	out := []*fairway.Evidence{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if f.Task != "" {
			if _, err := tx.Task(f.Task); err != nil {
				return err
			}
		}
		list, err := tx.EvidenceList(f)
		if list != nil {
			out = list
		}
		return err
	})
	return out, err
}

func partDigest(e *fairway.Evidence, part string) (string, error) {
	switch part {
	case "", fairway.PartContent:
		return e.Digest, nil
	case fairway.PartStdout, fairway.PartStderr:
		if e.Command == nil {
			return "", fairway.FieldError("part", "evidence %s is not a command result and has no %s", e.ID, part)
		}
		if part == fairway.PartStdout {
			return e.Command.StdoutDigest, nil
		}
		return e.Command.StderrDigest, nil
	}
	return "", fairway.FieldError("part", "%q is not a part: use content, stdout or stderr", part)
}

// OpenEvidence reads the exact bytes of one part.
func (l *Ledger) OpenEvidence(ctx context.Context, id, part string) (io.ReadCloser, error) {
	e, err := l.GetEvidence(ctx, id)
	if err != nil {
		return nil, err
	}
	d, err := partDigest(e, part)
	if err != nil {
		return nil, err
	}
	if d == "" {
		return nil, fairway.Errorf(fairway.ENOTFOUND, "evidence %s has no %s", id, part)
	}
	rc, err := l.Blobs.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	if part == "" {
		part = fairway.PartContent
	}
	return &verifiedReader{rc: rc, h: sha256.New(), digest: d, size: partSize(e, part), what: "evidence " + e.ID + "'s " + part}, nil
}

func partSize(e *fairway.Evidence, part string) int64 {
	switch part {
	case fairway.PartStdout:
		return e.Command.StdoutSize
	case fairway.PartStderr:
		return e.Command.StderrSize
	}
	return e.Size
}

// verifiedReader hands on a blob's bytes and fails, at their end or as
// soon as there are too many, unless they are the bytes the record
// names: evidence is content-addressed, so bytes changed in the blob
// store outside Fairway are never passed off as the record's.
type verifiedReader struct {
	rc     io.ReadCloser
	h      hash.Hash
	n      int64
	digest string
	size   int64
	what   string
	err    error
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.size:
		v.err = v.changed(fmt.Sprintf("holds more than the %d bytes recorded", v.size))
	case err == io.EOF:
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); v.n != v.size || got != v.digest {
			v.err = v.changed(fmt.Sprintf("holds %d bytes hashing to %s, not the %d bytes of %s recorded", v.n, got, v.size, v.digest))
		}
	}
	if v.err != nil {
		return n, v.err
	}
	return n, err
}

func (v *verifiedReader) changed(how string) error {
	return fairway.Errorf(fairway.EINTERNAL, "the blob store's copy of %s %s: it was changed outside Fairway; `fairway evidence verify` lists every such record", v.what, how)
}

func (v *verifiedReader) Close() error { return v.rc.Close() }

// VerifyEvidence recomputes the digest of every blob every record names.
func (l *Ledger) VerifyEvidence(ctx context.Context) (*fairway.EvidenceVerification, error) {
	list, err := l.ListEvidence(ctx, fairway.EvidenceFilter{})
	if err != nil {
		return nil, err
	}
	res := &fairway.EvidenceVerification{OK: true}
	buf := make([]byte, chunkSize)
	for _, e := range list {
		for _, part := range []string{fairway.PartContent, fairway.PartStdout, fairway.PartStderr} {
			d, _ := partDigest(e, part)
			if d == "" {
				continue
			}
			res.Checked++
			problem := ""
			r, err := l.Blobs.Open(ctx, d)
			if err != nil {
				problem = "the blob is missing"
			} else {
				h := sha256.New()
				_, err := io.CopyBuffer(h, r, buf)
				r.Close()
				if err != nil {
					problem = "the blob cannot be read: " + err.Error()
				} else if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d {
					problem = "the blob's bytes hash to " + got
				}
			}
			if problem != "" {
				res.OK = false
				res.Problems = append(res.Problems, fairway.EvidenceProblem{Evidence: e.ID, Part: part, Digest: d, Problem: problem})
			}
		}
	}
	return res, nil
}

// AddClaim records what someone says about their work. It is never
// evidence.
func (l *Ledger) AddClaim(ctx context.Context, c fairway.ClaimAdd) (*fairway.Claim, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(c); err != nil {
		return nil, err
	}
	var out *fairway.Claim
	err := l.write(ctx, "claim.add", c.Task, func(w *write) error {
		if err := w.onTask(c.Task); err != nil {
			return err
		}
		if _, err := w.tx.Task(c.Task); err != nil {
			return err
		}
		out = &fairway.Claim{Task: c.Task, Text: strings.TrimSpace(c.Text), Actor: w.by.Name, ActorKind: w.by.Kind, Session: w.auth.Session, At: w.now}
		if err := w.tx.InsertClaim(out); err != nil {
			return err
		}
		return w.record(out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListClaims lists a task's claims.
func (l *Ledger) ListClaims(ctx context.Context, task string) ([]*fairway.Claim, error) {
	out := []*fairway.Claim{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if _, err := tx.Task(task); err != nil {
			return err
		}
		list, err := tx.Claims(task)
		if list != nil {
			out = list
		}
		return err
	})
	return out, err
}
