package fairway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// fieldNamedTwiceByTokens is FieldNamedTwice as a json.Decoder walk: the
// oracle the byte scanner must agree with. Numbers stay json.Number: a
// float64 token ends the walk at a well-formed number out of its range
// (1e999), and a field named twice after it went unseen.
func fieldNamedTwiceByTokens(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path string, depth int) (string, bool)
	walk = func(path string, depth int) (string, bool) {
		if depth > maxFieldDepth {
			return "", false
		}
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false
				}
				key, _ := k.(string)
				name := key
				if path != "" {
					name = path + "." + key
				}
				folded := strings.ToLower(key)
				if seen[folded] {
					return name, true
				}
				seen[folded] = true
				if dup, ok := walk(name, depth+1); dup != "" || !ok {
					return dup, ok
				}
			}
			_, err := dec.Token()
			return "", err == nil
		case json.Delim('['):
			for dec.More() {
				if dup, ok := walk(path+"[]", depth+1); dup != "" || !ok {
					return dup, ok
				}
			}
			_, err := dec.Token()
			return "", err == nil
		}
		return "", true
	}
	dup, _ := walk("", 0)
	return dup
}

var fieldCases = map[string]string{
	`{"key":"A-1","title":"t"}`:                             "",
	`{"key":"A-1","title":"t","key":"A-2"}`:                 "key",
	`{"key":"A-1","Title":"t","tITLE":"u"}`:                 "tITLE",
	`{"scope":{"text":"a","surfaces":["edge"],"text":"b"}}`: "scope.text",
	`{"a":[{"x":1},{"x":2,"X":3}]}`:                         "a[].X",
	`{"a":[[{"y":null,"y":true}]]}`:                         "a[][].y",
	`{"tit\u006ce":1,"title":2}`:                            "title",
	`{"\u00c9t\u00e9":1,"été":2}`:                           "été",
	`{"\u212a":1,"k":2}`:                                    "k",
	`{"a":1,"a":2,}`:                                        "a",
	`{"a":1,"b":2,}`:                                        "",
	`{"a":01,"a":2}`:                                        "",
	`{"a":1 "a":2}`:                                         "",
	`{"a":tru,"a":2}`:                                       "",
	`{"a":"\x","a":2}`:                                      "",
	`{"a":-1.5e+3,"b":[true,false,null,"s\"\\\/\b\f\n\r\t\u0041"],"a":0}`: "a",
	`[{"a":1},{"a":1}]`:       "",
	`{}`:                      "",
	`[]`:                      "",
	``:                        "",
	`"x"`:                     "",
	`{"a":{"b":{}},"a":1}`:    "a",
	`{"a":1e999,"a":2}`:       "a",
	"{\"\xff\":1,\"\xfe\":2}": "\ufffd",
}

func TestFieldNamedTwice(t *testing.T) {
	for body, want := range fieldCases {
		if got := FieldNamedTwice([]byte(body)); got != want {
			t.Errorf("FieldNamedTwice(%s) = %q, want %q", body, got, want)
		}
		if got := fieldNamedTwiceByTokens([]byte(body)); got != want {
			t.Errorf("oracle(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestFieldNamedTwice_DeepNestingEndsTheScan(t *testing.T) {
	deep := strings.Repeat("[", maxFieldDepth+2) + `{"a":1,"a":2}` + strings.Repeat("]", maxFieldDepth+2)
	if got := FieldNamedTwice([]byte(deep)); got != "" {
		t.Fatalf("got %q past the depth limit, want \"\"", got)
	}
	shallow := strings.Repeat("[", 10) + `{"a":1,"a":2}` + strings.Repeat("]", 10)
	if got := FieldNamedTwice([]byte(shallow)); got != strings.Repeat("[]", 10)+".a" {
		t.Fatalf("got %q, want the field under ten arrays", got)
	}
}

func FuzzFieldNamedTwice(f *testing.F) {
	for body := range fieldCases {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := FieldNamedTwice(body), fieldNamedTwiceByTokens(body); got != want {
			t.Fatalf("FieldNamedTwice(%q) = %q, the decoder walk says %q", body, got, want)
		}
	})
}

func BenchmarkFieldNamedTwice(b *testing.B) {
	body := []byte(`{"key":"W-123","title":"write 123","risk":"low","scope":{"text":"the edge","surfaces":["edge","api"]},"labels":["a","b"]}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			FieldNamedTwice(body)
		}
	})
	b.Run("decoder-walk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fieldNamedTwiceByTokens(body)
		}
	})
}
