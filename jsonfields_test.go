package fairway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
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
	`[{"a":1},{"a":1}]`:    "",
	`{}`:                   "",
	`[]`:                   "",
	``:                     "",
	`"x"`:                  "",
	`{"a":{"b":{}},"a":1}`: "a",
	`{"a":1e999,"a":2}`:    "a",
	`{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0,"m":0,"n":0,"o":0,"p":0,"P":1}`:             "P",
	`{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0,"m":0,"n":0,"o":0,"p":0,"q":0,"r":0,"B":1}`: "B",
	`{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0,"m":0,"n":0,"o":0,"p":0,"q":0,"r":0,"R":1}`: "R",
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

// A body as large as the API takes, one object of many fields, is
// checked no slower than the decoder walk the scanner replaced: the
// names an object has seen are not compared one by one with each new
// name (quadratic: 28 s for 1 MiB where the walk took 0.4 s).
func TestFieldNamedTwice_ManyFieldsAreNoSlowerThanTheDecoderWalk(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; b.Len() < 1<<20-20; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"%x":0`, i)
	}
	b.WriteString(`,"Z":1,"z":2}`)
	body := []byte(b.String())
	start := time.Now()
	if got := fieldNamedTwiceByTokens(body); got != "z" {
		t.Fatalf("oracle = %q, want \"z\"", got)
	}
	walk := time.Since(start)
	start = time.Now()
	if got := FieldNamedTwice(body); got != "z" {
		t.Fatalf("FieldNamedTwice = %q, want \"z\"", got)
	}
	if scan := time.Since(start); scan > walk {
		t.Fatalf("the scanner took %v over %d bytes, the decoder walk %v", scan, len(body), walk)
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

// Text the decoder would store changed (U+FFFD for bytes that are not
// UTF-8 or for half a surrogate pair) is found, with where it starts.
func TestTextChangedByDecoding(t *testing.T) {
	cases := []struct {
		body string
		want int
	}{
		{`{"title":"plain"}`, -1},
		{`{"title":"caf\u00e9 \ud83d\ude00 ` + "\u00e9\U0001F600" + `"}`, -1},
		{`{"title":"a\\ud800"}`, -1}, // an escaped backslash, then plain text
		{`{"title":"\uFFFD is sent as itself"}`, -1},
		{"{\"title\":\"a\xffb\"}", 11},
		{"{\"title\":\"a\xed\xa0\x80\"}", 11},
		{`{"title":"a\ud800b"}`, 11},
		{`{"title":"a\ud800\u0041"}`, 11},
		{`{"title":"a\udc00"}`, 11},
		{`{"title":"a\\\ud800"}`, 13},
		{`{"title":"a\ud8`, -1},
	}
	for _, c := range cases {
		if got := TextChangedByDecoding([]byte(c.body)); got != c.want {
			t.Errorf("TextChangedByDecoding(%q) = %d, want %d", c.body, got, c.want)
		}
	}
}
