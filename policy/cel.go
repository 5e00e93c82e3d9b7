package policy

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"fairway"
)

// evalBool runs a compiled condition; a missing condition is true.
func evalBool(where string, p cel.Program, act map[string]any) (bool, error) {
	if p == nil {
		return true, nil
	}
	out, _, err := p.Eval(act)
	if err != nil {
		return false, fairway.Errorf(fairway.EINTERNAL, "policy %s: the condition failed: %v", where, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fairway.Errorf(fairway.EINTERNAL, "policy %s: the condition gave %v, not true or false", where, out)
	}
	return bool(b), nil
}
