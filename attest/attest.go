// Package attest exports evidence as in-toto Statements (v1) in DSSE
// envelopes, signed with the same Ed25519 key that signs audit
// checkpoints, and verifies them. Both formats are small and fully
// specified, so they are written here rather than imported.
package attest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fairway"
	"fairway/tlog"
)

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// StatementType is the in-toto Statement v1 type.
const StatementType = "https://in-toto.io/Statement/v1"

// EvidencePredicateType names Fairway's evidence predicate.
const EvidencePredicateType = "https://fairway.dev/attestation/evidence/v1"

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one DSSE signature.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Statement is an in-toto Statement v1.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is an in-toto resource descriptor with a digest.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// EvidencePredicate describes one evidence record: what ran, where, from
// which commit, with what result, recorded by whom.
type EvidencePredicate struct {
	Task         string               `json:"task"`
	EvidenceID   string               `json:"evidenceId"`
	Kind         string               `json:"kind"`
	MediaType    string               `json:"mediaType"`
	Size         int64                `json:"size"`
	RecordedBy   string               `json:"recordedBy"`
	RecorderKind string               `json:"recorderKind"`
	Session      string               `json:"session,omitempty"`
	RecordedAt   time.Time            `json:"recordedAt"`
	Command      *fairway.Command     `json:"command,omitempty"`
	Source       *fairway.SourceState `json:"source,omitempty"`
	Environment  *fairway.Environment `json:"environment,omitempty"`
	Summary      *fairway.Summary     `json:"summary,omitempty"`
}

// pae is DSSE's pre-authentication encoding: what is actually signed.
func pae(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// keyID names a key as its verifier key does: name+hash.
func keyID(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "+" + parts[1]
}

// digestOf splits "sha256:HEX" into algorithm and hex.
func digestOf(d string) (string, string, error) {
	alg, h, ok := strings.Cut(d, ":")
	if !ok || alg != "sha256" {
		return "", "", fmt.Errorf("digest %q is not sha256:HEX", d)
	}
	if _, err := hex.DecodeString(h); err != nil || len(h) != 64 {
		return "", "", fmt.Errorf("digest %q is not sha256:HEX", d)
	}
	return alg, h, nil
}

// Sign wraps a statement in a DSSE envelope signed with a signed-note
// private key (`fairway keys generate`).
func Sign(st *Statement, skey string) (*Envelope, error) {
	_, priv, err := tlog.PrivateKey(skey)
	if err != nil {
		return nil, err
	}
	vkey, err := tlog.VerifierKeyFor(skey)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(priv, pae(PayloadType, payload))
	return &Envelope{PayloadType: PayloadType, Payload: base64.StdEncoding.EncodeToString(payload),
		Signatures: []Signature{{KeyID: keyID(vkey), Sig: base64.StdEncoding.EncodeToString(sig)}}}, nil
}

// Verify checks an envelope's signature with a verifier key and returns
// its statement. It fails unless a signature of that key verifies over
// the exact payload bytes, and the payload is an in-toto v1 statement.
func Verify(env *Envelope, vkey string) (*Statement, error) {
	_, pub, err := tlog.PublicKey(vkey)
	if err != nil {
		return nil, err
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("payload type %q is not %s", env.PayloadType, PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload is not base64: %v", err)
	}
	ok := false
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err == nil && ed25519.Verify(pub, pae(env.PayloadType, payload), sig) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, errors.New("no signature of this key verifies the envelope")
	}
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("payload is not a statement: %v", err)
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("statement type %q is not %s", st.Type, StatementType)
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("statement has no subject")
	}
	return &st, nil
}
