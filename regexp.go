package fairway

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles a pattern on first use, so commands that never
// validate a given field do not pay for compiling it at start-up.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
