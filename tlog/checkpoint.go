package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"fairway"
)

// GenerateKey makes an Ed25519 signed-note key pair named name: the
// private key (to keep in a file only the signer reads) and the public
// verifier key (to publish).
func GenerateKey(name string) (skey, vkey string, err error) {
	if name == "" || strings.ContainsAny(name, "+ \t\n") {
		return "", "", fairway.FieldError("name", "must be non-empty, with no '+' and no space (the log's origin, e.g. fairway.example.com/audit)")
	}
	return note.GenerateKey(rand.Reader, name)
}

// keyAlgEd25519 is the signed-note algorithm byte for Ed25519.
const keyAlgEd25519 = 1

// PrivateKey parses a signed-note private key into its name and Ed25519
// key, which also signs attestations.
func PrivateKey(skey string) (string, ed25519.PrivateKey, error) {
	skey = strings.TrimSpace(skey)
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", nil, errors.New("not a signing key: want PRIVATE+KEY+name+hash+key, as `fairway keys generate` writes")
	}
	if _, err := note.NewSigner(skey); err != nil {
		return "", nil, fmt.Errorf("signing key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != keyAlgEd25519 {
		return "", nil, errors.New("signing key: not an Ed25519 key")
	}
	return parts[2], ed25519.NewKeyFromSeed(raw[1:]), nil
}

// VerifierKeyFor returns the public verifier key of a private key.
func VerifierKeyFor(skey string) (string, error) {
	name, priv, err := PrivateKey(skey)
	if err != nil {
		return "", err
	}
	return note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
}

// PublicKey parses a verifier key into its name and Ed25519 key.
func PublicKey(vkey string) (string, ed25519.PublicKey, error) {
	vkey = strings.TrimSpace(vkey)
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", nil, fmt.Errorf("verifier key: %w", err)
	}
	parts := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != keyAlgEd25519 {
		return "", nil, errors.New("verifier key: not an Ed25519 key")
	}
	return parts[0], ed25519.PublicKey(raw[1:]), nil
}

// Body returns the checkpoint text of a tree head (C2SP tlog-checkpoint):
// origin, size in decimal and the root in base64, one per line.
func Body(origin string, size int64, root []byte) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root))
}

// Sign signs the checkpoint of a tree head with a signed-note private key
// whose name is the log's origin.
func Sign(skey string, head *fairway.TreeHead) (*fairway.Checkpoint, error) {
	signer, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	vkey, err := VerifierKeyFor(skey)
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: Body(signer.Name(), head.Size, head.Root)}, signer)
	if err != nil {
		return nil, err
	}
	return &fairway.Checkpoint{Origin: signer.Name(), Size: head.Size, Root: head.Root, Note: string(msg), KeyName: signer.Name(), VerifierKey: vkey}, nil
}

// Open verifies a signed checkpoint with a public verifier key and parses
// it. It fails when the signature is not that key's or the text is not a
// checkpoint.
func Open(msg []byte, vkey string) (*fairway.Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := parseBody(n.Text)
	if err != nil {
		return nil, err
	}
	c.Note, c.KeyName, c.VerifierKey = string(msg), v.Name(), strings.TrimSpace(vkey)
	return c, nil
}

func parseBody(text string) (*fairway.Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return nil, errors.New("checkpoint: want origin, size and root hash on three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		return nil, fmt.Errorf("checkpoint: size %q is not a decimal number", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return nil, fmt.Errorf("checkpoint: root %q is not a base64 SHA-256 hash", lines[2])
	}
	return &fairway.Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// SameRoot reports whether two roots are equal.
func SameRoot(a, b []byte) bool { return bytes.Equal(a, b) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
