package fairway

import (
	"bytes"
	"encoding/json"
	"strings"
)

// FieldNamedTwice returns the path of the first field an object of body
// names twice, or "". The decoder would keep the last of the two (and
// matches names whatever their case), while a log, a proxy or a person
// reading the body may take the first: a request must mean one thing.
// A body that is not well-formed JSON returns "", for the decoder to
// name.
func FieldNamedTwice(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var walk func(path string, depth int) (string, bool)
	walk = func(path string, depth int) (string, bool) {
		if depth > 10000 {
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
