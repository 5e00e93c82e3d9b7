package secret

// keywordMatcher finds every rule keyword in one pass over the bytes,
// ignoring ASCII case: an Aho-Corasick automaton compiled to a full
// transition table, so each input byte costs one table lookup.
type keywordMatcher struct {
	// delta is state*256 + byte → next state, with acceptBit set on
	// states where some keyword ends.
	delta []uint16
	out   []uint32 // state → bit set of rules whose keyword ends here
}

const acceptBit = 1 << 15

func newKeywordMatcher(rules []*Rule) *keywordMatcher {
	type node struct {
		next map[byte]int
		fail int
		out  uint32
	}
	nodes := []*node{{next: map[byte]int{}}}
	for ri, r := range rules {
		for _, k := range r.Keywords {
			cur := 0
			for i := 0; i < len(k); i++ {
				c := fold(k[i])
				nx, ok := nodes[cur].next[c]
				if !ok {
					nodes = append(nodes, &node{next: map[byte]int{}})
					nx = len(nodes) - 1
					nodes[cur].next[c] = nx
				}
				cur = nx
			}
			nodes[cur].out |= 1 << ri
		}
	}
	// Breadth-first: fail links and the full table.
	m := &keywordMatcher{out: make([]uint32, len(nodes))}
	full := make([]uint16, len(nodes)*256)
	queue := []int{}
	for c := 0; c < 256; c++ {
		if nx, ok := nodes[0].next[fold(byte(c))]; ok {
			full[c] = uint16(nx)
			queue = append(queue, nx)
		}
	}
	seen := map[int]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		nodes[s].out |= nodes[nodes[s].fail].out
		for c := 0; c < 256; c++ {
			f := fold(byte(c))
			if nx, ok := nodes[s].next[f]; ok {
				nodes[nx].fail = int(full[nodes[s].fail*256+c])
				full[s*256+c] = uint16(nx)
				queue = append(queue, nx)
			} else {
				full[s*256+c] = full[nodes[s].fail*256+c]
			}
		}
	}
	for i, n := range nodes {
		m.out[i] = n.out
	}
	m.delta = make([]uint16, len(nodes)*256)
	for i, nx := range full {
		if m.out[nx] != 0 {
			nx |= acceptBit
		}
		m.delta[i] = nx
	}
	return m
}

// scan returns the bit set of rules whose keywords occur in b.
func (m *keywordMatcher) scan(b []byte) uint32 {
	var mask uint32
	state := 0
	for _, c := range b {
		nx := m.delta[state<<8|int(c)]
		if nx&acceptBit != 0 {
			nx &^= acceptBit
			mask |= m.out[nx]
		}
		state = int(nx)
	}
	return mask
}

func fold(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

var keywords = newKeywordMatcher(Rules)
