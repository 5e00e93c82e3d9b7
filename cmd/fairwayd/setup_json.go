package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// orderedObject is a JSON object that keeps its keys in the order they
// were written, so setup edits a user's settings file without reordering
// what it does not touch.
type orderedObject []member

type member struct {
	key   string
	value any
}

func (o orderedObject) get(key string) any {
	for _, m := range o {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

func (o *orderedObject) set(key string, v any) {
	for i, m := range *o {
		if m.key == key {
			(*o)[i].value = v
			return
		}
	}
	*o = append(*o, member{key, v})
}

// object returns the object under key, creating it (or replacing a value
// that is not an object) as needed.
func (o *orderedObject) object(key string) *orderedObject {
	for i, m := range *o {
		if m.key == key {
			if sub, ok := m.value.(*orderedObject); ok {
				return sub
			}
			if sub, ok := m.value.(orderedObject); ok {
				p := &sub
				(*o)[i].value = p
				return p
			}
			p := &orderedObject{}
			(*o)[i].value = p
			return p
		}
	}
	p := &orderedObject{}
	*o = append(*o, member{key, p})
	return p
}

// MarshalJSON writes the members in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// decodeOrdered reads one JSON value, objects as orderedObject.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := orderedObject{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, member{kt.(string), v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token()
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // string, json.Number, bool or nil
	}
}

// editJSON applies edit to a JSON settings file (empty when absent) and
// writes it back indented by two spaces, keys in their order.
func editJSON(before []byte, edit func(root *orderedObject)) ([]byte, error) {
	root := &orderedObject{}
	if len(bytes.TrimSpace(before)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(before))
		dec.UseNumber()
		v, err := decodeOrdered(dec)
		if err != nil {
			return nil, fmt.Errorf("not valid JSON (%v); fix or move it, then run setup again", err)
		}
		o, ok := v.(orderedObject)
		if !ok {
			return nil, fmt.Errorf("holds JSON that is not an object; fix or move it, then run setup again")
		}
		root = &o
	}
	edit(root)
	raw, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// lineDiff shows how a file changes, as a unified-style listing of every
// line: removed lines with -, added with +, kept with a space.
func lineDiff(path string, before, after []byte) string {
	split := func(b []byte) []string {
		s := strings.TrimSuffix(string(b), "\n")
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	a, b := split(before), split(after)
	// Longest common subsequence: the files are small.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var w strings.Builder
	from := "--- " + path
	if before == nil {
		from = "--- /dev/null"
	}
	fmt.Fprintf(&w, "%s\n+++ %s\n", from, path)
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			fmt.Fprintf(&w, " %s\n", a[i])
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&w, "+%s\n", b[j])
			j++
		default:
			fmt.Fprintf(&w, "-%s\n", a[i])
			i++
		}
	}
	return w.String()
}
