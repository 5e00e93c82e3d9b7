package ledger

import (
	"fmt"
	"reflect"
	"strings"

	"fairway"
	"fairway/secret"
)

// refuseSecretText refuses input whose text holds a secret (R7), before
// anything is written: titles, scope, claims, reasons, notes, items and
// every other string field of in, found by reflection so that a new field
// is scanned without being listed. The error names the field (by its JSON
// name) and the rule, never the value.
func refuseSecretText(in any) error {
	return walkText(reflect.ValueOf(in), nil, func(field *textPath, s string) error {
		fs := secret.ScanText(s)
		if len(fs) == 0 {
			return nil
		}
		f := fs[0]
		return fairway.FieldError(field.String(), "holds what looks like a secret (rule %s, line %d, column %d); remove it: Fairway never stores a secret, and this field would be kept in an audit log that cannot be edited", f.Rule, f.Line, f.Column)
	})
}

// textPath names the field a string sits in, spelled out only when a
// finding needs it: every write walks its input.
type textPath struct {
	parent *textPath
	name   string
}

func (p *textPath) String() string {
	if p == nil {
		return ""
	}
	if p.parent == nil {
		return p.name
	}
	return p.parent.String() + "." + p.name
}

// walkText calls fn for every string reachable from v through exported
// struct fields, pointers, slices and maps.
func walkText(v reflect.Value, path *textPath, fn func(field *textPath, s string) error) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkText(v.Elem(), path, fn)
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return fn(path, v.String())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := walkText(v.Index(i), path, fn); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if err := walkText(iter.Value(), path, fn); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := walkText(v.Field(i), &textPath{parent: path, name: name}, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// redactCommand redacts secrets from a command record's argv and from the
// environment values it keeps, in place, and returns the findings (R7):
// a command line is kept in an immutable record and its audit event.
func redactCommand(cmd *fairway.Command, env *fairway.Environment) []fairway.SecretFinding {
	var out []fairway.SecretFinding
	if cmd != nil {
		argv, fs := secret.RedactArgs(cmd.Argv)
		cmd.Argv = argv
		for _, f := range fs {
			out = append(out, fairway.SecretFinding{Part: fmt.Sprintf("argv[%d]", f.Arg), Rule: f.Rule, Line: f.Line, Column: f.Column})
		}
	}
	if env != nil {
		for name, value := range env.EnvValues {
			v, fs := secret.RedactEnvValue(name, value)
			env.EnvValues[name] = v
			for _, f := range fs {
				out = append(out, fairway.SecretFinding{Part: "env:" + name, Rule: f.Rule, Line: f.Line, Column: f.Column})
			}
		}
	}
	return out
}
