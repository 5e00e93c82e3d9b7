package secret

import (
	"strings"
	"sync"
)

// fold lower-cases an ASCII letter.
func fold(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// pairFilter finds keywords by their first two bytes: a bit per folded
// byte pair says whether any keyword starts so, and only there are the
// keywords compared. Each position is checked independently of the last,
// which lets the processor overlap the work (an automaton's state chain
// ran at half this speed).
type pairFilter struct {
	bits [1024]uint64 // 65536 pairs
	// index maps a pair to its keywords in lists (0: none); an array
	// rather than a map, since common pairs such as "to" hit it often.
	index   [65536]uint8
	lists   [][]pairKeyword
	foldTab [256]byte
}

type pairKeyword struct {
	word []byte // folded
	rule uint32
}

func newPairFilter(rules []*Rule) *pairFilter {
	f := &pairFilter{lists: [][]pairKeyword{nil}}
	for c := range 256 {
		f.foldTab[c] = fold(byte(c))
	}
	for ri, r := range rules {
		for _, k := range r.Keywords {
			w := []byte(strings.ToLower(k))
			p := uint16(w[0])<<8 | uint16(w[1])
			f.bits[p>>6] |= 1 << (p & 63)
			if f.index[p] == 0 {
				f.lists = append(f.lists, nil)
				f.index[p] = uint8(len(f.lists) - 1)
			}
			f.lists[f.index[p]] = append(f.lists[f.index[p]], pairKeyword{word: w, rule: 1 << ri})
		}
	}
	return f
}

// scan returns the bit set of rules whose keywords occur in b.
func (f *pairFilter) scan(b []byte) uint32 {
	var mask uint32
	if len(b) < 2 {
		return 0
	}
	prev := uint16(f.foldTab[b[0]])
	for i := 1; i < len(b); i++ {
		cur := uint16(f.foldTab[b[i]])
		p := prev<<8 | cur
		prev = cur
		if f.bits[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for _, kw := range f.lists[f.index[p]] {
			if mask&kw.rule == 0 && hasFoldedPrefix(b[i-1:], kw.word, &f.foldTab) {
				mask |= kw.rule
			}
		}
	}
	return mask
}

func hasFoldedPrefix(b, word []byte, tab *[256]byte) bool {
	if len(b) < len(word) {
		return false
	}
	for j, c := range word {
		if tab[b[j]] != c {
			return false
		}
	}
	return true
}

var pairs = sync.OnceValue(func() *pairFilter { return newPairFilter(Rules) })
