package fairway

import (
	"encoding/json"
	"reflect"
	"strings"
)

// MarshalIndent is json.MarshalIndent(v, "", "  "), except that the
// change of every audit event in v is written exactly as the ledger
// stored it: json.MarshalIndent re-indents a json.RawMessage, and an
// event whose change was re-spaced no longer matches its hash, so a
// printed proof would not verify. Everything else is laid out as
// json.MarshalIndent lays it out, byte for byte.
func MarshalIndent(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	// json.Marshal wrote each change compacted, which leaves the stored
	// bytes as they are: CanonicalJSON stores compact JSON.
	in := indenter{in: b, out: make([]byte, 0, len(b)+len(b)/2)}
	in.value(0)
	return in.out, nil
}

// auditEventKeys are the keys of an audit event's JSON, in order, as
// json.Marshal writes them: an object with exactly these is an event.
var auditEventKeys = func() []string {
	t := reflect.TypeFor[AuditEvent]()
	keys := make([]string, t.NumField())
	for i := range keys {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[i] = `"` + name + `"`
	}
	return keys
}()

// indenter lays out compact, valid JSON (json.Marshal's) as
// json.Indent does, copying an audit event's change as it is.
type indenter struct {
	in  []byte
	pos int
	out []byte
}

// member is one name and value of an object, as spans of in.
type member struct {
	key        string
	start, end int
}

func (d *indenter) value(depth int) {
	switch d.in[d.pos] {
	case '{':
		d.object(depth)
	case '[':
		d.array(depth)
	default:
		start := d.pos
		d.skip()
		d.out = append(d.out, d.in[start:d.pos]...)
	}
}

func (d *indenter) object(depth int) {
	d.pos++ // {
	if d.in[d.pos] == '}' {
		d.pos++
		d.out = append(d.out, '{', '}')
		return
	}
	var members []member
	for {
		start := d.pos
		d.skip()
		key := string(d.in[start:d.pos])
		d.pos++ // :
		m := member{key: key, start: d.pos}
		d.skip()
		m.end = d.pos
		members = append(members, m)
		c := d.in[d.pos]
		d.pos++ // , or }
		if c == '}' {
			break
		}
	}
	end := d.pos
	event := len(members) == len(auditEventKeys)
	for i := 0; event && i < len(members); i++ {
		event = members[i].key == auditEventKeys[i]
	}
	d.out = append(d.out, '{')
	for i, m := range members {
		if i > 0 {
			d.out = append(d.out, ',')
		}
		d.newline(depth + 1)
		d.out = append(d.out, m.key...)
		d.out = append(d.out, ':', ' ')
		if event && m.key == `"change"` {
			d.out = append(d.out, d.in[m.start:m.end]...)
			continue
		}
		d.pos = m.start
		d.value(depth + 1)
	}
	d.newline(depth)
	d.out = append(d.out, '}')
	d.pos = end
}

func (d *indenter) array(depth int) {
	d.pos++ // [
	if d.in[d.pos] == ']' {
		d.pos++
		d.out = append(d.out, '[', ']')
		return
	}
	d.out = append(d.out, '[')
	for first := true; ; first = false {
		if !first {
			d.out = append(d.out, ',')
		}
		d.newline(depth + 1)
		d.value(depth + 1)
		c := d.in[d.pos]
		d.pos++ // , or ]
		if c == ']' {
			break
		}
	}
	d.newline(depth)
	d.out = append(d.out, ']')
}

func (d *indenter) newline(depth int) {
	d.out = append(d.out, '\n')
	for range depth {
		d.out = append(d.out, ' ', ' ')
	}
}

// skip moves past one value.
func (d *indenter) skip() {
	switch d.in[d.pos] {
	case '"':
		d.pos++
		for d.in[d.pos] != '"' {
			if d.in[d.pos] == '\\' {
				d.pos++
			}
			d.pos++
		}
		d.pos++
	case '{', '[':
		nest := 0
		for {
			switch d.in[d.pos] {
			case '"':
				d.skip()
				continue
			case '{', '[':
				nest++
			case '}', ']':
				nest--
			}
			d.pos++
			if nest == 0 {
				return
			}
		}
	default: // a number, true, false or null
		for d.pos < len(d.in) && !strings.ContainsRune(",]}", rune(d.in[d.pos])) {
			d.pos++
		}
	}
}
