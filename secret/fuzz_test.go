package secret_test

import (
	"bytes"
	"reflect"
	"testing"

	"fairway/secret"
)

// FuzzScanner_ChunkingDoesNotMatter checks that how a stream is cut into
// writes changes neither what is found nor what redaction writes.
func FuzzScanner_ChunkingDoesNotMatter(f *testing.F) {
	for _, fx := range fixtures {
		f.Add([]byte(fx.text), uint8(3))
	}
	f.Add([]byte("plain text\nwith lines\nand no secret at all\n"), uint8(1))
	f.Add([]byte("a=b\npassword=\"hunter2hunter2\" token: ghp_1234567890abcdefghijABCDEFGHIJ123456"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		scan := func(chunk int) ([]secret.Finding, []byte) {
			var out bytes.Buffer
			s := secret.NewScanner(&out)
			for i := 0; i < len(data); i += chunk {
				s.Write(data[i:min(i+chunk, len(data))])
			}
			s.Close()
			return s.Findings(), out.Bytes()
		}
		whole, wholeOut := scan(len(data) + 1)
		cut, cutOut := scan(int(step%13) + 1)
		if !reflect.DeepEqual(whole, cut) {
			t.Fatalf("findings differ with chunks of %d:\nwhole %+v\ncut   %+v", step%13+1, whole, cut)
		}
		if !bytes.Equal(wholeOut, cutOut) {
			t.Fatalf("redacted output differs with chunks of %d", step%13+1)
		}
		if len(whole) == 0 && !bytes.Equal(wholeOut, data) {
			t.Fatalf("redaction changed a stream with no findings")
		}
	})
}
