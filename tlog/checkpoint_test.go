package tlog_test

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"fairway"
	"fairway/tlog"
)

func TestCheckpoint_SignOpenAndRefuse(t *testing.T) {
	skey, vkey, err := tlog.GenerateKey("fairway.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tlog.VerifierKeyFor(skey); err != nil || got != vkey {
		t.Fatalf("VerifierKeyFor = %q, %v; want %q", got, err, vkey)
	}
	root := bytes.Repeat([]byte{0xab}, 32)
	c, err := tlog.Sign(skey, &fairway.TreeHead{Size: 42, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	body := "fairway.test/audit\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
	if !strings.HasPrefix(c.Note, body+"\n— fairway.test/audit ") {
		t.Fatalf("note = %q, want the C2SP body then the signature line", c.Note)
	}
	got, err := tlog.Open([]byte(c.Note), vkey)
	if err != nil || got.Size != 42 || !bytes.Equal(got.Root, root) || got.Origin != "fairway.test/audit" {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	signer, _ := note.NewSigner(skey)
	signBody := func(text string) string {
		msg, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return string(msg)
	}
	_, otherKey, _ := tlog.GenerateKey("fairway.test/audit")
	tests := []struct {
		name, msg, key, want string
	}{
		{"another key", c.Note, otherKey, "checkpoint signature"},
		{"edited size", strings.Replace(c.Note, "\n42\n", "\n43\n", 1), vkey, "checkpoint signature"},
		{"size not decimal", signBody("fairway.test/audit\n+42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"), vkey, `size "+42" is not a decimal number`},
		{"short root", signBody("fairway.test/audit\n42\nq6ur\n"), vkey, `root "q6ur" is not a base64 SHA-256 hash`},
		{"two lines", signBody("fairway.test/audit\n42\n"), vkey, "want origin, size and root hash on three lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tlog.Open([]byte(tt.msg), tt.key); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	for _, name := range []string{"", "has space", "a+b"} {
		if _, _, err := tlog.GenerateKey(name); fairway.ErrorCode(err) != fairway.EINVALID {
			t.Errorf("GenerateKey(%q) = %v, want invalid", name, err)
		}
	}
}
