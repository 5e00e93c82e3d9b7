package policy

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"fairway"
)

// Load parses and checks a governance file. Every problem is reported
// with the file, line, column and reason; a policy with any problem is
// refused whole.
func Load(file string, data []byte) (*Policy, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &LoadError{Errors: []Error{{File: file, Line: 1, Column: 1, Reason: "the file is empty"}}}
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if err == io.EOF {
			return nil, &LoadError{Errors: []Error{{File: file, Line: 1, Column: 1, Reason: "the file is empty"}}}
		}
		return nil, &LoadError{Errors: yamlErrors(file, err)}
	}
	p.File, p.Source, p.Digest = file, data, digest(data)
	c := &checker{file: file, p: &p}
	c.check()
	if len(c.problems) == 0 {
		return &p, nil
	}
	// Only a policy with problems pays for a second parse, into nodes
	// that place each problem at its line and column.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &LoadError{Errors: []Error{yamlError(file, err)}}
	}
	if len(root.Content) == 0 {
		return nil, &LoadError{Errors: []Error{{File: file, Line: 1, Column: 1, Reason: "the file is empty"}}}
	}
	c.pos = map[string]*yaml.Node{}
	c.index(root.Content[0], "")
	errs := make([]Error, 0, len(c.problems))
	for _, pr := range c.problems {
		errs = append(errs, c.place(pr.path, pr.reason))
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Column < errs[j].Column
	})
	return nil, &LoadError{Errors: errs}
}

var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): (.*)`) })

func yamlError(file string, err error) Error {
	if m := yamlLineRE().FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: line, Column: 1, Reason: m[2]}
	}
	return Error{File: file, Line: 1, Column: 1, Reason: strings.TrimPrefix(err.Error(), "yaml: ")}
}

func yamlErrors(file string, err error) []Error {
	var te *yaml.TypeError
	if ok := asTypeError(err, &te); ok {
		var out []Error
		for _, e := range te.Errors {
			out = append(out, yamlError(file, fmt.Errorf("%s", e)))
		}
		return out
	}
	return []Error{yamlError(file, err)}
}

func asTypeError(err error, te **yaml.TypeError) bool {
	t, ok := err.(*yaml.TypeError)
	if ok {
		*te = t
	}
	return ok
}

// checker finds semantic problems; Load places them in the file.
type checker struct {
	file     string
	pos      map[string]*yaml.Node
	p        *Policy
	problems []problem
	env      *cel.Env
}

// problem is a reason found at a path such as surfaces.edge.evidence[1].
type problem struct{ path, reason string }

// index records the node at every path, e.g. surfaces.edge.evidence[1].
func (c *checker) index(n *yaml.Node, path string) {
	c.pos[path] = n
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			c.pos[sub+"#key"] = k
			c.index(v, sub)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			c.index(v, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// errorf reports a problem at path.
func (c *checker) errorf(path, format string, args ...any) {
	c.problems = append(c.problems, problem{path, fmt.Sprintf(format, args...)})
}

// place puts a problem at path's node, or at the nearest enclosing node
// that exists in the file.
func (c *checker) place(path, reason string) Error {
	at := path
	for {
		if n, ok := c.pos[at]; ok {
			return Error{File: c.file, Line: n.Line, Column: n.Column, Path: path, Reason: reason}
		}
		i := strings.LastIndexAny(at, ".[")
		if i < 0 {
			return Error{File: c.file, Line: 1, Column: 1, Path: path, Reason: reason}
		}
		at = at[:i]
	}
}

// Names and evidence kinds, compiled on first use.
var (
	nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`) })
	kindRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`) })
)

func (c *checker) check() {
	p := c.p
	if p.Version != 1 {
		c.errorf("version", "version must be 1")
	}
	env, err := cel.NewEnv(cel.Variable("task", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		c.errorf("", "cannot prepare CEL: %v", err)
		return
	}
	c.env = env

	c.checkDomains()
	c.checkLayers()
	c.checkSurfaces()
	c.checkProtectedClasses()
	c.checkPrerequisites()
	c.checkRules()
	c.checkSurfaceEvidence()
	c.checkWaiversAndSecrets()
	c.checkDefaults()
	c.checkEvidenceKinds()
	c.checkEnvironments()
	c.checkWebhooks()
	for i, k := range p.Secrets.Redact {
		for _, r := range p.Secrets.Refuse {
			if k == r {
				c.errorf(fmt.Sprintf("secrets.redact[%d]", i), "kind %q is both redacted and refused", k)
			}
		}
	}
}

// domain reports a review domain the policy does not define.
func (c *checker) domain(path, name string) {
	if _, ok := c.p.ReviewDomains[name]; !ok {
		c.errorf(path, "review domain %q is not defined under review_domains", name)
	}
}

// kind reports a name that is not an evidence kind.
func (c *checker) kind(path, k string) {
	if !kindRE().MatchString(k) {
		c.errorf(path, "%q is not an evidence kind", k)
	}
}

// checkDomains checks review domains, the policy's owners and groups.
func (c *checker) checkDomains() {
	p := c.p
	if len(p.ReviewDomains) == 0 {
		c.errorf("review_domains", "at least one review domain is needed")
	}
	if len(p.Owners) == 0 {
		c.errorf("owners", "name the review c.domain(s) that must approve changes to this policy")
	}
	for i, o := range p.Owners {
		c.domain(fmt.Sprintf("owners[%d]", i), o)
	}
	for _, g := range sortedKeys(p.Groups) {
		if !nameRE().MatchString(g) {
			c.errorf("groups."+g+"#key", "%q is not a valid group name", g)
		}
	}
	for _, name := range sortedKeys(p.ReviewDomains) {
		d := p.ReviewDomains[name]
		path := "review_domains." + name
		if d == nil {
			c.errorf(path, "review domain %q has no settings", name)
			continue
		}
		if !nameRE().MatchString(name) {
			c.errorf(path+"#key", "%q is not a valid domain name", name)
		}
		if len(d.Members) == 0 {
			c.errorf(path, "review domain %q has no members: nobody could approve for it", name)
		}
		for i, m := range d.Members {
			if g, ok := strings.CutPrefix(m, "group:"); ok && p.Groups[g] == nil && !nameRE().MatchString(g) {
				c.errorf(fmt.Sprintf("%s.members[%d]", path, i), "%q is not a valid group", m)
			}
		}
		if d.MinApprovals < 0 {
			c.errorf(path+".min_approvals", "must not be negative")
		}
	}
}

// checkLayers checks layers and that no contract is owned twice, and
// compiles the contract patterns.
func (c *checker) checkLayers() {
	p := c.p
	owners := map[string]string{}
	for _, name := range sortedKeys(p.Layers) {
		l := p.Layers[name]
		path := "layers." + name
		if l == nil {
			c.errorf(path, "layer %q has no settings", name)
			continue
		}
		if l.ReviewDomain == "" {
			c.errorf(path, "layer %q needs a review_domain to speak for its contracts", name)
		} else {
			c.domain(path+".review_domain", l.ReviewDomain)
		}
		for i, ct := range l.Contracts {
			cpath := fmt.Sprintf("%s.contracts[%d]", path, i)
			prefix, _, ok := strings.Cut(ct, ":")
			if !ok || !map[string]bool{"route": true, "schema": true, "event": true, "read-model": true, "path": true}[prefix] {
				c.errorf(cpath, "%q must start with route:, schema:, event:, read-model: or path:", ct)
				continue
			}
			if other, dup := owners[ct]; dup {
				c.errorf(cpath, "contract %q is owned twice: by layer %s and layer %s", ct, other, name)
				continue
			}
			owners[ct] = name
			re, err := globRE(ct)
			if err != nil {
				c.errorf(cpath, "bad pattern: %v", err)
				continue
			}
			p.contractOwner = append(p.contractOwner, contractRule{pattern: ct, re: re, layer: name})
		}
	}
}

// checkSurfaces checks each surface's domains and evidence kinds.
func (c *checker) checkSurfaces() {
	p := c.p
	for _, name := range sortedKeys(p.Surfaces) {
		s := p.Surfaces[name]
		path := "surfaces." + name
		if s == nil {
			c.errorf(path, "surface %q has no settings", name)
			continue
		}
		for i, d := range s.ReviewDomains {
			c.domain(fmt.Sprintf("%s.review_domains[%d]", path, i), d)
		}
		for i, k := range s.Evidence {
			c.kind(fmt.Sprintf("%s.evidence[%d]", path, i), k)
		}
		if s.WaiverDomain != "" {
			c.domain(path+".waiver_domain", s.WaiverDomain)
		}
	}
}

// checkProtectedClasses checks protected change classes, defaulting
// their rollback evidence.
func (c *checker) checkProtectedClasses() {
	p := c.p
	for _, name := range sortedKeys(p.ProtectedClasses) {
		pc := p.ProtectedClasses[name]
		path := "protected_change_classes." + name
		if pc == nil {
			c.errorf(path, "protected change class %q has no settings", name)
			continue
		}
		if len(pc.Approvals) == 0 {
			c.errorf(path, "protected change class %q needs approvals from at least one domain", name)
		}
		for i, d := range pc.Approvals {
			c.domain(fmt.Sprintf("%s.approvals[%d]", path, i), d)
		}
		if pc.RollbackEvidence == "" {
			pc.RollbackEvidence = fairway.EvidenceRollbackPlan
		} else {
			c.kind(path+".rollback_evidence", pc.RollbackEvidence)
		}
		if pc.RollbackEvidence == fairway.EvidenceContext {
			c.errorf(path+".rollback_evidence", "context evidence can never satisfy a requirement")
		}
	}
}

// checkPrerequisites checks prerequisites and their alternatives, and
// compiles their conditions.
func (c *checker) checkPrerequisites() {
	p := c.p
	for _, name := range sortedKeys(p.Prerequisites) {
		pr := p.Prerequisites[name]
		path := "prerequisites." + name
		if pr == nil {
			c.errorf(path, "prerequisite %q has no settings", name)
			continue
		}
		if pr.Evidence == nil && len(pr.Alternatives) == 0 {
			c.errorf(path, "prerequisite %q names no evidence and no alternative: it could never be satisfied", name)
		}
		c.evidenceRef(path+".evidence", pr.Evidence)
		for i, alt := range pr.Alternatives {
			apath := fmt.Sprintf("%s.alternatives[%d]", path, i)
			set := 0
			if alt.TaskDone != "" {
				set++
				if err := fairway.ValidateKey("task_done", alt.TaskDone); err != nil {
					c.errorf(apath+".task_done", "%q is not a task key", alt.TaskDone)
				}
			}
			if alt.Evidence != nil {
				set++
				c.evidenceRef(apath+".evidence", alt.Evidence)
			}
			if alt.Waiver {
				set++
			}
			if set != 1 {
				c.errorf(apath, "an alternative is exactly one of task_done, evidence or waiver: true")
			}
		}
		if pr.WaiverDomain != "" {
			c.domain(path+".waiver_domain", pr.WaiverDomain)
		}
		if pr.When == "" {
			c.errorf(path, "prerequisite %q needs a when condition (CEL) saying which tasks it gates", name)
		}
		pr.when = c.compile(path+".when", pr.When)
	}
}

// checkRules checks rules and compiles their conditions.
func (c *checker) checkRules() {
	p := c.p
	for i, r := range p.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r == nil {
			c.errorf(path, "empty rule")
			continue
		}
		if r.Name == "" {
			c.errorf(path, "a rule needs a name")
		}
		if r.When == "" {
			c.errorf(path, "a rule needs a when condition (CEL)")
		}
		for j, d := range r.ReviewDomains {
			c.domain(fmt.Sprintf("%s.review_domains[%d]", path, j), d)
		}
		for j, k := range r.Evidence {
			c.kind(fmt.Sprintf("%s.evidence[%d]", path, j), k)
			if k == fairway.EvidenceContext {
				c.errorf(fmt.Sprintf("%s.evidence[%d]", path, j), "context evidence can never satisfy a requirement")
			}
		}
		r.when = c.compile(path+".when", r.When)
	}
}

// checkSurfaceEvidence refuses context evidence as a surface's proof.
func (c *checker) checkSurfaceEvidence() {
	p := c.p
	for name, s := range p.Surfaces {
		for j, k := range s.Evidence {
			if k == fairway.EvidenceContext {
				c.errorf(fmt.Sprintf("surfaces.%s.evidence[%d]", name, j), "context evidence can never satisfy a requirement")
			}
		}
	}
}

// checkWaiversAndSecrets checks the waiver settings and the secret
// kinds.
func (c *checker) checkWaiversAndSecrets() {
	p := c.p
	if p.Waivers.Domain != "" {
		c.domain("waivers.domain", p.Waivers.Domain)
	}
	if p.Waivers.MaxDays < 0 {
		c.errorf("waivers.max_days", "must not be negative")
	}
	for _, list := range []struct {
		path  string
		kinds []string
	}{{"secrets.redact", p.Secrets.Redact}, {"secrets.refuse", p.Secrets.Refuse}} {
		for i, k := range list.kinds {
			c.kind(fmt.Sprintf("%s[%d]", list.path, i), k)
		}
	}
}

func (c *checker) evidenceRef(path string, ref *EvidenceRef) {
	if ref == nil {
		return
	}
	if ref.Kind == "" {
		c.errorf(path, "evidence needs a kind")
	} else if ref.Kind == fairway.EvidenceContext {
		c.errorf(path+".kind", "context evidence can never satisfy a requirement")
	}
	if ref.Task != "" {
		if err := fairway.ValidateKey("task", ref.Task); err != nil {
			c.errorf(path+".task", "%q is not a task key", ref.Task)
		}
	}
}

// compile checks a CEL condition and returns its program; errors point
// into the expression.
func (c *checker) compile(path, expr string) cel.Program {
	if expr == "" {
		return nil
	}
	ast, iss := c.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		c.errorf(path, "CEL: %s", strings.ReplaceAll(iss.Err().Error(), "\n", " "))
		return nil
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		c.errorf(path, "CEL: the condition must be true or false, not %s", ast.OutputType())
		return nil
	}
	prg, err := c.env.Program(ast)
	if err != nil {
		c.errorf(path, "CEL: %v", err)
		return nil
	}
	return prg
}

// checkDefaults makes sure the defaults name a requirement for every task
// they reach: a defaults section that can leave a gate empty is refused.
func (c *checker) checkDefaults() {
	d := c.p.Defaults
	if d == nil {
		return
	}
	if !d.LayerReview && len(d.ReviewDomains) == 0 {
		c.errorf("defaults", "defaults name no requirement: set layer_review: true or list review_domains")
		return
	}
	if len(d.ReviewDomains) == 0 {
		c.errorf("defaults", "defaults need review_domains for tasks in lanes no layer claims, or those tasks' gates pass over nothing")
	}
	for i, name := range d.ReviewDomains {
		if _, ok := c.p.ReviewDomains[name]; !ok {
			c.errorf(fmt.Sprintf("defaults.review_domains[%d]", i), "review domain %q is not defined under review_domains", name)
		}
	}
}
