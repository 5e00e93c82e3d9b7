package attest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"fairway"
	"fairway/tlog"
)

// A task's evidence packet is a folder:
//
//	checkpoint                 the signed checkpoint every proof is against
//	manifest.json              what is in the packet and which event wrote it
//	statements/packet.intoto.json  the manifest, signed, with the digest of
//	                           every statement's payload as its subjects
//	statements/*.intoto.json   DSSE envelopes of in-toto statements
//	records/*.json             the ledger records the statements describe
//	blobs/sha256-HEX           the evidence bytes, named by digest
//	proofs/event-SEQ.json      inclusion proofs of the audit events behind them
//
// Nothing in it is trusted by the verifier except through the key: the
// checkpoint is signed, each statement is signed and must be what its
// record makes, each record must be what a proven audit event wrote, and
// each blob must hash to the digest its record names. The signed packet
// index makes the set whole: a statement dropped, or swapped for another
// the same key signed, is found.

// PacketType is the predicate type of a packet's signed index: its
// predicate is the manifest.
const PacketType = "https://fairway.dev/attestation/evidence-packet/v1"

// indexFile is the signed index's name.
const indexFile = "statements/packet.intoto.json"

// Manifest lists the packet's items.
type Manifest struct {
	Task           string `json:"task"`
	CheckpointSize int64  `json:"checkpoint_size"`
	CheckpointRoot []byte `json:"checkpoint_root"`
	Items          []Item `json:"items"`
}

// Item is one statement, its record, and the audit events that wrote it.
type Item struct {
	// Kind is evidence, review, waiver or gate.
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Statement string `json:"statement"`
	Record    string `json:"record"`
	// Event is the audit event that wrote the record (for a gate, the
	// task.close event; zero for a gate evaluated at export).
	Event int64 `json:"event,omitempty"`
	// PolicyEvent is the event that put the gate's policy in force.
	PolicyEvent int64 `json:"policy_event,omitempty"`
	// Blobs maps each part of an evidence record to its file.
	Blobs map[string]string `json:"blobs,omitempty"`
}

// PacketEvidence is one evidence record to export and the event that
// wrote it.
type PacketEvidence struct {
	Record *fairway.Evidence
	Event  int64
}

// PacketReview is one review to export and the event that wrote it.
type PacketReview struct {
	Record *fairway.Review
	Event  int64
}

// PacketWaiver is one approved waiver and the event that approved it.
type PacketWaiver struct {
	Record *fairway.Waiver
	Event  int64
}

// PacketInput is everything a packet holds, gathered by the caller.
type PacketInput struct {
	Task       string
	Checkpoint *fairway.Checkpoint
	Evidence   []PacketEvidence
	Reviews    []PacketReview
	Waivers    []PacketWaiver
	Gate       *fairway.GateDecision
	// GateEvent is the task.close event that recorded Gate, or zero.
	GateEvent   int64
	PolicyEvent int64
	// Open reads one part of an evidence record (content, stdout, stderr).
	Open func(id, part string) (io.ReadCloser, error)
	// Prove returns the inclusion proof of event seq (with the event)
	// against the checkpoint's tree size.
	Prove func(seq int64) (*fairway.InclusionProof, error)
}

// WritePacket writes a packet into dir, which must be empty or absent,
// signing every statement with skey.
func WritePacket(dir string, in *PacketInput, skey string) (*Manifest, error) {
	if err := CheckPacketDir(dir); err != nil {
		return nil, err
	}
	for _, sub := range []string{"statements", "records", "blobs", "proofs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), []byte(in.Checkpoint.Note), 0o644); err != nil {
		return nil, err
	}
	m := &Manifest{Task: in.Task, CheckpointSize: in.Checkpoint.Size, CheckpointRoot: in.Checkpoint.Root, Items: []Item{}}
	events := map[int64]bool{}
	var index []Subject
	add := func(it Item, st *Statement, record any) error {
		env, err := Sign(st, skey)
		if err != nil {
			return err
		}
		d, err := payloadDigest(env)
		if err != nil {
			return err
		}
		index = append(index, Subject{Name: it.Statement, Digest: map[string]string{"sha256": d}})
		if err := writeJSON(filepath.Join(dir, it.Statement), env); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, it.Record), record); err != nil {
			return err
		}
		for _, seq := range []int64{it.Event, it.PolicyEvent} {
			if seq > 0 {
				events[seq] = true
			}
		}
		m.Items = append(m.Items, it)
		return nil
	}
	for _, e := range in.Evidence {
		st, err := Evidence(e.Record)
		if err != nil {
			return nil, fmt.Errorf("evidence %s: %w", e.Record.ID, err)
		}
		it := Item{Kind: "evidence", ID: e.Record.ID, Statement: "statements/evidence-" + e.Record.ID + ".intoto.json",
			Record: "records/evidence-" + e.Record.ID + ".json", Event: e.Event, Blobs: map[string]string{}}
		for _, p := range evidenceParts(e.Record) {
			name, err := writeBlob(dir, p.digest, func() (io.ReadCloser, error) { return in.Open(e.Record.ID, p.name) })
			if err != nil {
				return nil, fmt.Errorf("evidence %s %s: %w", e.Record.ID, p.name, err)
			}
			it.Blobs[p.name] = name
		}
		if err := add(it, st, e.Record); err != nil {
			return nil, err
		}
	}
	for _, r := range in.Reviews {
		st, err := Review(r.Record)
		if err != nil {
			return nil, err
		}
		id := strconv.FormatInt(r.Record.ID, 10)
		if err := add(Item{Kind: "review", ID: id, Statement: "statements/review-" + id + ".intoto.json", Record: "records/review-" + id + ".json", Event: r.Event}, st, r.Record); err != nil {
			return nil, err
		}
	}
	for _, w := range in.Waivers {
		st, err := Waiver(w.Record)
		if err != nil {
			return nil, err
		}
		id := strconv.FormatInt(w.Record.ID, 10)
		if err := add(Item{Kind: "waiver", ID: id, Statement: "statements/waiver-" + id + ".intoto.json", Record: "records/waiver-" + id + ".json", Event: w.Event}, st, w.Record); err != nil {
			return nil, err
		}
	}
	if in.Gate != nil {
		st, err := Gate(in.Gate, in.GateEvent > 0)
		if err != nil {
			return nil, err
		}
		if err := add(Item{Kind: "gate", ID: in.Task, Statement: "statements/gate.intoto.json", Record: "records/gate.json", Event: in.GateEvent, PolicyEvent: in.PolicyEvent}, st, in.Gate); err != nil {
			return nil, err
		}
	}
	seqs := make([]int64, 0, len(events))
	for seq := range events {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, seq := range seqs {
		p, err := in.Prove(seq)
		if err != nil {
			return nil, fmt.Errorf("proof of event %d: %w", seq, err)
		}
		if err := writeJSON(filepath.Join(dir, proofFile(seq)), p); err != nil {
			return nil, err
		}
	}
	idx, err := statement(PacketType, index, m)
	if err != nil {
		return nil, err
	}
	env, err := Sign(idx, skey)
	if err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, indexFile), env); err != nil {
		return nil, err
	}
	return m, writeJSON(filepath.Join(dir, "manifest.json"), m)
}

// payloadDigest is the hex SHA-256 of an envelope's payload bytes.
func payloadDigest(env *Envelope) (string, error) {
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return "", fmt.Errorf("payload is not base64: %v", err)
	}
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:]), nil
}

// CheckPacketDir refuses a folder that exists and is not empty.
func CheckPacketDir(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fairway.FieldError("out", "%s is not empty: give a new folder for the packet", dir)
	}
	return nil
}

func proofFile(seq int64) string { return fmt.Sprintf("proofs/event-%d.json", seq) }

type part struct{ name, digest string }

// evidenceParts lists the parts of a record that have bytes, with their
// digests, content first.
func evidenceParts(e *fairway.Evidence) []part {
	parts := []part{{fairway.PartContent, e.Digest}}
	if e.Command != nil {
		if e.Command.StdoutDigest != "" {
			parts = append(parts, part{fairway.PartStdout, e.Command.StdoutDigest})
		}
		if e.Command.StderrDigest != "" {
			parts = append(parts, part{fairway.PartStderr, e.Command.StderrDigest})
		}
	}
	return parts
}

func blobFile(d string) string { return "blobs/" + strings.Replace(d, ":", "-", 1) }

// writeBlob copies one part's bytes to blobs/, checking their digest.
func writeBlob(dir, d string, open func() (io.ReadCloser, error)) (string, error) {
	name := blobFile(d)
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	r, err := open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d {
		return "", fmt.Errorf("the store's bytes hash to %s, not %s", got, d)
	}
	return name, nil
}

// writeJSON writes v compactly: indenting would reformat the raw JSON an
// audit event holds, and with it the bytes its hash covers.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// PacketReport is what VerifyPacket checked.
type PacketReport struct {
	Task       string `json:"task"`
	Checkpoint struct {
		Origin string `json:"origin"`
		Size   int64  `json:"size"`
		Root   []byte `json:"root"`
	} `json:"checkpoint"`
	Statements int   `json:"statements"`
	Blobs      int   `json:"blobs"`
	Events     []int `json:"events"`
}

// VerifyPacket checks a packet with a public verifier key: the
// checkpoint's signature, every statement's signature and that it is what
// its record makes, every record against the audit event that wrote it,
// every event's inclusion proof against the checkpoint, and every blob's
// digest. The first problem is returned, naming the file and what is
// wrong with it.
func VerifyPacket(dir, vkey string) (*PacketReport, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is missing", name)
		}
		return b, err
	}
	note, err := read("checkpoint")
	if err != nil {
		return nil, err
	}
	cp, err := tlog.Open(note, vkey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var m Manifest
	b, err := read("manifest.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %v", err)
	}
	// The signed index is the manifest as exported: manifest.json must be
	// it, and each statement one whose payload it names.
	b, err = read(indexFile)
	if err != nil {
		return nil, err
	}
	var idxEnv Envelope
	if err := json.Unmarshal(b, &idxEnv); err != nil {
		return nil, fmt.Errorf("%s: not a DSSE envelope: %v", indexFile, err)
	}
	idx, err := Verify(&idxEnv, vkey)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", indexFile, err)
	}
	if idx.PredicateType != PacketType || !sameJSON(idx.Predicate, &m) {
		return nil, fmt.Errorf("manifest.json is not the manifest %s signed: an item was added, dropped or changed", indexFile)
	}
	signed := map[string]string{}
	for _, s := range idx.Subject {
		signed[s.Name] = s.Digest["sha256"]
	}
	if len(signed) != len(m.Items) {
		return nil, fmt.Errorf("%s names %d statements, the manifest %d", indexFile, len(signed), len(m.Items))
	}
	if m.CheckpointSize != cp.Size || !bytes.Equal(m.CheckpointRoot, cp.Root) {
		return nil, fmt.Errorf("the packet was signed against a tree of %d events, but the checkpoint signs %d with another root", m.CheckpointSize, cp.Size)
	}
	rep := &PacketReport{Task: m.Task}
	rep.Checkpoint.Origin, rep.Checkpoint.Size, rep.Checkpoint.Root = cp.Origin, cp.Size, cp.Root
	proven := map[int64]*fairway.AuditEvent{}
	event := func(it Item, seq int64) (*fairway.AuditEvent, error) {
		if e := proven[seq]; e != nil {
			return e, nil
		}
		name := proofFile(seq)
		b, err := read(name)
		if err != nil {
			return nil, fmt.Errorf("%s %s: the audit event %d that wrote it has no inclusion proof (%v)", it.Kind, it.ID, seq, err)
		}
		var p fairway.InclusionProof
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		e := p.Event
		switch {
		case e == nil || e.Seq != seq:
			return nil, fmt.Errorf("%s: does not hold event %d", name, seq)
		case !tlog.Rehash(e):
			return nil, fmt.Errorf("%s: event %d does not match its own hash (edited)", name, seq)
		case p.Size != cp.Size:
			return nil, fmt.Errorf("%s: proves against a tree of %d events, not the checkpoint's %d", name, p.Size, cp.Size)
		}
		if err := tlog.VerifyInclusion(seq-1, cp.Size, tlog.LeafHash(e), p.Hashes, cp.Root); err != nil {
			return nil, fmt.Errorf("%s: event %d is NOT in the log checkpoint %s/%d signed: %v", name, seq, cp.Origin, cp.Size, err)
		}
		proven[seq] = e
		rep.Events = append(rep.Events, int(seq))
		return e, nil
	}
	kinds := map[string]int{}
	for _, it := range m.Items {
		kinds[it.Kind]++
		if err := verifyItem(dir, it, read, event, vkey, signed[it.Statement], rep); err != nil {
			return nil, err
		}
		rep.Statements++
	}
	if kinds["gate"] != 1 {
		return nil, fmt.Errorf("manifest.json lists %d gate decisions, want 1", kinds["gate"])
	}
	sort.Ints(rep.Events)
	return rep, nil
}

func verifyItem(dir string, it Item, read func(string) ([]byte, error), event func(Item, int64) (*fairway.AuditEvent, error), vkey, indexed string, rep *PacketReport) error {
	what := it.Kind + " " + it.ID
	b, err := read(it.Statement)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s: not a DSSE envelope: %v", it.Statement, err)
	}
	st, err := Verify(&env, vkey)
	if err != nil {
		return fmt.Errorf("%s: %v", it.Statement, err)
	}
	if d, _ := payloadDigest(&env); d != indexed {
		return fmt.Errorf("%s: not the statement %s signed for %s %s (another statement of the same key?)", it.Statement, indexFile, it.Kind, it.ID)
	}
	rec, err := read(it.Record)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	// want is the statement the record makes; change is what the audit
	// event wrote, compared with the record.
	var want *Statement
	switch it.Kind {
	case "evidence":
		var e fairway.Evidence
		if err := json.Unmarshal(rec, &e); err != nil {
			return fmt.Errorf("%s: %v", it.Record, err)
		}
		if e.ID != it.ID {
			return fmt.Errorf("%s holds evidence %s, not %s", it.Record, e.ID, it.ID)
		}
		ev, err := event(it, it.Event)
		if err != nil {
			return err
		}
		var c struct{ ID, Record string }
		json.Unmarshal(ev.Change, &c)
		if ev.Action != "evidence.add" || c.ID != e.ID {
			return fmt.Errorf("%s: audit event %d (%s) did not write evidence %s", it.Record, ev.Seq, ev.Action, e.ID)
		}
		if d := RecordDigest(&e); d != c.Record {
			return fmt.Errorf("%s: the record hashes to %s, but audit event %d wrote %s: the record differs from what was recorded", it.Record, d, ev.Seq, c.Record)
		}
		for _, p := range evidenceParts(&e) {
			if err := verifyBlob(dir, blobFile(p.digest), p.digest, fmt.Sprintf("evidence %s (%s)", e.ID, p.name)); err != nil {
				return err
			}
			rep.Blobs++
		}
		if want, err = Evidence(&e); err != nil {
			return err
		}
	case "review":
		var r fairway.Review
		if err := json.Unmarshal(rec, &r); err != nil {
			return fmt.Errorf("%s: %v", it.Record, err)
		}
		ev, err := event(it, it.Event)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(ev.Action, "review.") || !sameJSON(ev.Change, &r) {
			return fmt.Errorf("%s: review %d is not what audit event %d (%s) wrote", it.Record, r.ID, ev.Seq, ev.Action)
		}
		if want, err = Review(&r); err != nil {
			return err
		}
	case "waiver":
		var w fairway.Waiver
		if err := json.Unmarshal(rec, &w); err != nil {
			return fmt.Errorf("%s: %v", it.Record, err)
		}
		ev, err := event(it, it.Event)
		if err != nil {
			return err
		}
		if ev.Action != "waiver.approve" || !sameJSON(ev.Change, &w) {
			return fmt.Errorf("%s: waiver %d is not what audit event %d (%s) approved", it.Record, w.ID, ev.Seq, ev.Action)
		}
		if want, err = Waiver(&w); err != nil {
			return err
		}
	case "gate":
		var d fairway.GateDecision
		if err := json.Unmarshal(rec, &d); err != nil {
			return fmt.Errorf("%s: %v", it.Record, err)
		}
		if it.Event > 0 {
			ev, err := event(it, it.Event)
			if err != nil {
				return err
			}
			var c struct {
				Decision json.RawMessage `json:"decision"`
			}
			json.Unmarshal(ev.Change, &c)
			if ev.Action != "task.close" || ev.Subject != d.Task || !sameJSON(c.Decision, &d) {
				return fmt.Errorf("%s: the gate decision is not the one audit event %d (%s) recorded", it.Record, ev.Seq, ev.Action)
			}
		}
		if d.PolicyDigest != "" {
			if it.PolicyEvent == 0 {
				return fmt.Errorf("%s: the decision names policy %s but the packet names no event that put it in force", it.Record, d.PolicyDigest)
			}
			ev, err := event(it, it.PolicyEvent)
			if err != nil {
				return err
			}
			var c struct{ Digest string }
			json.Unmarshal(ev.Change, &c)
			if (ev.Action != "policy.bootstrap" && ev.Action != "policy.activate") || c.Digest != d.PolicyDigest {
				return fmt.Errorf("%s: audit event %d (%s) did not put policy %s in force", it.Record, ev.Seq, ev.Action, d.PolicyDigest)
			}
		}
		if want, err = Gate(&d, it.Event > 0); err != nil {
			return err
		}
	default:
		return fmt.Errorf("manifest.json: item kind %q is not evidence, review, waiver or gate", it.Kind)
	}
	if !sameJSON(mustJSON(want), st) {
		return fmt.Errorf("%s: the signed statement is not what %s makes", it.Statement, it.Record)
	}
	return nil
}

func verifyBlob(dir, name, d, what string) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: the bytes are missing (%s)", what, name)
	} else if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d {
		return fmt.Errorf("%s: %s hashes to %s, not %s: the bytes were changed", what, name, got, d)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// sameJSON reports whether raw and v encode the same canonical JSON.
func sameJSON(raw json.RawMessage, v any) bool {
	a, err := fairway.CanonicalJSON(raw)
	if err != nil {
		return false
	}
	b, err := fairway.CanonicalJSON(v)
	return err == nil && bytes.Equal(a, b)
}
