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

// maxRules is how many rules a ruleSet can name.
const maxRules = 128

// ruleSet is a bit per rule: the rules whose keywords a line holds.
type ruleSet [maxRules / 64]uint64

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
	word  []byte // folded, or as written when exact
	exact bool
	w     uint8  // the rule's word in a ruleSet
	bit   uint64 // and its bit there
}

func newPairFilter(rules []*Rule) *pairFilter {
	if len(rules) > maxRules {
		panic("secret: more rules than a ruleSet holds")
	}
	f := &pairFilter{lists: [][]pairKeyword{nil}}
	for c := range 256 {
		f.foldTab[c] = fold(byte(c))
	}
	for ri, r := range rules {
		for _, k := range r.Keywords {
			lw := []byte(strings.ToLower(k))
			p := uint16(lw[0])<<8 | uint16(lw[1])
			f.bits[p>>6] |= 1 << (p & 63)
			if f.index[p] == 0 {
				f.lists = append(f.lists, nil)
				if len(f.lists) > 255 {
					panic("secret: too many keyword pairs")
				}
				f.index[p] = uint8(len(f.lists) - 1)
			}
			kw := pairKeyword{word: lw, w: uint8(ri >> 6), bit: 1 << (ri & 63)}
			if r.CaseSensitive {
				kw.word, kw.exact = []byte(k), true
			}
			f.lists[f.index[p]] = append(f.lists[f.index[p]], kw)
		}
	}
	return f
}

// scan returns the set of rules whose keywords occur in b.
func (f *pairFilter) scan(b []byte) ruleSet {
	var set ruleSet
	if len(b) < 2 {
		return set
	}
	prev := uint16(f.foldTab[b[0]])
	for i := 1; i < len(b); i++ {
		cur := uint16(f.foldTab[b[i]])
		p := prev<<8 | cur
		prev = cur
		if f.bits[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for k := range f.lists[f.index[p]] {
			kw := &f.lists[f.index[p]][k]
			// w&1 keeps the index provably in range (two words).
			if set[kw.w&1]&kw.bit != 0 {
				continue
			}
			if kw.exact && hasPrefix(b[i-1:], kw.word) || !kw.exact && hasFoldedPrefix(b[i-1:], kw.word, &f.foldTab) {
				set[kw.w&1] |= kw.bit
			}
		}
	}
	return set
}

func hasPrefix(b, word []byte) bool {
	return len(b) >= len(word) && string(b[:len(word)]) == string(word)
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
