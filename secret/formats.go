package secret

import "bytes"

// content is line without its line ending.
func content(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

func ended(line []byte) bool { return len(line) > 0 && line[len(line)-1] == '\n' }

var base64Byte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '+' || b == '/' || b == '='
	}
	return t
}()

// isBase64 reports whether b is non-empty and all standard base64.
func isBase64(b []byte) bool {
	for _, c := range b {
		if !base64Byte[c] {
			return false
		}
	}
	return len(b) > 0
}

// wrapWidth reports whether n is a width that base64 encoders wrap at
// (MIME and GNU base64 76, PEM and OpenSSL 64, and the 60 and 72 others
// use). A run of such lines is an encoded file, not a run of secrets.
func wrapWidth(n int) bool { return n == 76 || n == 64 || n == 60 || n == 72 }

// pemEnd starts the line that ends a PEM block.
var pemEnd = []byte("-----END")

// pemExtend returns where a private key that begins on a line at [start,
// end) ends on that line: after its END marker when the whole key is on
// the line (a JSON string with \n escapes), else after the encoded text
// that follows the BEGIN marker.
func pemExtend(line []byte, end int) int {
	rest := line[end:]
	if i := bytes.Index(rest, pemEnd); i >= 0 {
		if j := bytes.Index(rest[i+len(pemEnd):], []byte("-----")); j >= 0 &&
			bytes.Contains(rest[i:i+len(pemEnd)+j], []byte("PRIVATE KEY")) {
			return end + i + len(pemEnd) + j + 5
		}
	}
	k := 0
	for k < len(rest) && (base64Byte[rest[k]] || rest[k] == '\\') {
		k++
	}
	return end + k
}

// keyText strips what wraps a line of key text in a config file or
// source: indentation, quotes, a trailing comma or +, a \n escape.
func keyText(c []byte) []byte {
	t := bytes.Trim(c, " \t\"'`,+;")
	t = bytes.TrimSuffix(t, []byte(`\n`))
	return bytes.Trim(t, " \t\"'`")
}

// keyHeader reports whether t is an armour header inside a key block,
// such as "Proc-Type: 4,ENCRYPTED" or "Version: GnuPG v2".
func keyHeader(t []byte) bool {
	i := bytes.Index(t, []byte(": "))
	if i <= 0 || len(t) > 200 {
		return false
	}
	for _, c := range t[:i] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// pemEndAt returns where the END marker on a key block's line c ends, or
// -1 when c is not the block's END line.
func pemEndAt(c []byte) int {
	lead := len(c) - len(bytes.TrimLeft(c, " \t\"'`"))
	if !bytes.HasPrefix(c[lead:], pemEnd) {
		return -1
	}
	j := bytes.Index(c[lead+len(pemEnd):], []byte("-----"))
	if j < 0 {
		return -1
	}
	return lead + len(pemEnd) + j + 5
}

// pgpassSpans finds the password of a .pgpass line,
// host:port:database:user:password, where port is a number or *. A
// colon or backslash inside a field is escaped with a backslash.
func pgpassSpans(line []byte) [][2]int {
	c := content(line)
	// Cheap refusals first: this runs on every line.
	if len(c) < 9 || len(c) > 512 || bytes.IndexByte(c, ' ') >= 0 || bytes.Count(c, []byte(":")) < 4 {
		return nil
	}
	var fields [][2]int
	start := 0
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '\\':
			i++
		case ':':
			fields = append(fields, [2]int{start, i})
			start = i + 1
		}
	}
	fields = append(fields, [2]int{start, len(c)})
	if len(fields) != 5 {
		return nil
	}
	host, port, pw := c[fields[0][0]:fields[0][1]], c[fields[1][0]:fields[1][1]], fields[4]
	if !pgHost(host) || !pgPort(port) || fields[2][0] == fields[2][1] || fields[3][0] == fields[3][1] || pw[1]-pw[0] < 1 {
		return nil
	}
	if p := c[pw[0]:pw[1]]; string(p) == "*" {
		return nil
	}
	return [][2]int{pw}
}

// pgHost accepts *, a host name or an address; a host name must have a
// letter or a dot, so that a time such as 10:00:01 is not a host.
func pgHost(h []byte) bool {
	if string(h) == "*" {
		return true
	}
	named := false
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '[' || c == ']':
			named = true
		case '0' <= c && c <= '9' || c == '-' || c == '_' || c == '\\':
		default:
			return false
		}
	}
	return named
}

func pgPort(p []byte) bool {
	if string(p) == "*" {
		return true
	}
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
