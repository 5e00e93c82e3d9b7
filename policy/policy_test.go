package policy_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/policy"
)

func TestLoad_DemoPolicy(t *testing.T) {
	p, err := policy.Load("governance.yaml", demo.Policy)
	if err != nil {
		t.Fatalf("demo policy: %v", err)
	}
	if len(p.Layers) != 4 || len(p.ProtectedClasses) != 9 || !strings.HasPrefix(p.Digest, "sha256:") {
		t.Fatalf("layers %d classes %d digest %s", len(p.Layers), len(p.ProtectedClasses), p.Digest)
	}
}

func TestLoad_ErrorsNameFileLineAndReason(t *testing.T) {
	base := string(demo.Policy)
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown field", "fallback:\n", "fallbak:\n", "governance.yaml:"},
		{"dangling domain", "review_domains: [ops, security]\n    evidence: [rollback-plan, diff]", "review_domains: [ops, secops]\n    evidence: [rollback-plan, diff]",
			`surfaces.edge.review_domains[1]: review domain "secops" is not defined under review_domains`},
		{"contract owned twice", "      - read-model:app-catalog\n", "      - read-model:app-catalog\n      - route:/v1/allocations/**\n",
			`layers.gpuaas-product.contracts[0]: contract "route:/v1/allocations/**" is owned twice`},
		{"bad CEL", `when: "'mfa' in task.surfaces"`, `when: "'mfa' in task.surfaces &&"`, "prerequisites.mfa-live-drill.when: CEL: "},
		{"non-bool CEL", `when: "'service-exposure' in task.labels"`, `when: "task.priority + 1"`, "prerequisites.rte-exports.when: CEL: the condition must be true or false"},
		{"context as proof", "evidence: [command-result]\n\nprotected", "evidence: [context]\n\nprotected", "context evidence can never satisfy a requirement"},
		{"bad yaml", "version: 1\n", "version: [1\n", "governance.yaml:"},
		{"default domain undefined", "review_domains: [ops]\n\nfallback:", "review_domains: [opps]\n\nfallback:",
			`defaults.review_domains[0]: review domain "opps" is not defined under review_domains`},
		{"defaults name nothing", "  layer_review: true\n  review_domains: [ops]\n", "  layer_review: false\n",
			"defaults: defaults name no requirement"},
		{"layer review leaves unclaimed lanes bare", "  layer_review: true\n  review_domains: [ops]\n", "  layer_review: true\n",
			"defaults: defaults need review_domains for tasks in lanes no layer claims"},
	}
	for _, c := range cases {
		if !strings.Contains(base, c.from) {
			t.Fatalf("%s: fixture text %q not in the demo policy", c.name, c.from)
		}
		src := strings.Replace(base, c.from, c.to, 1)
		_, err := policy.Load("governance.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "governance.yaml:") {
			t.Errorf("%s: %q does not start with file:line:col", c.name, err)
		}
	}
	// The place is exact: the dangling domain sits on the edge surface's line.
	src := strings.Replace(base, "review_domains: [ops, security]\n    evidence: [rollback-plan, diff]", "review_domains: [ops, secops]\n    evidence: [rollback-plan, diff]", 1)
	_, err := policy.Load("governance.yaml", []byte(src))
	line := 1 + strings.Count(src[:strings.Index(src, "secops]")], "\n")
	col := strings.Index(src[strings.LastIndex(src[:strings.Index(src, "secops]")], "\n")+1:], "secops") + 1
	want := "governance.yaml:" + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ": surfaces.edge.review_domains[1]"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want prefix %q", err, want)
	}
}

func TestNeeds_FromSurfacesContractsClassesRulesAndPrerequisites(t *testing.T) {
	p, err := policy.Load("governance.yaml", demo.Policy)
	if err != nil {
		t.Fatal(err)
	}
	task := &fairway.Task{Key: "OPS-EDGE-001", Lane: "closeout", Risk: "high", Mutating: true,
		Scope:  fairway.Scope{Surfaces: []string{"edge"}, ChangeClasses: []string{"edge-dns"}, Contracts: []string{"route:/v1/allocations/list"}},
		Labels: []string{"kind-uat"}}
	needs, err := p.Needs(task, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range needs {
		s := n.ID
		if n.Protected {
			s += " protected"
		}
		if n.RequireMFA {
			s += " mfa"
		}
		got = append(got, s)
	}
	want := []string{"review:gpuaas", "review:ops protected mfa", "review:security protected mfa",
		"evidence:diff", "evidence:rollback-plan protected", "prerequisite:kind-compute-capacity"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("needs:\n got %v\nwant %v", got, want)
	}
	for _, n := range needs {
		if n.ID == "review:gpuaas" && n.Describe() != "touches route:/v1/allocations/list, owned by layer gpuaas-product" {
			t.Fatalf("reason = %q", n.Describe())
		}
	}
	// Inside its own layer, a contract adds no outside review: only the
	// default review by the layer's own domain applies.
	own := &fairway.Task{Key: "GP-1", Lane: "gpuaas", Scope: fairway.Scope{Contracts: []string{"route:/v1/allocations/list"}}}
	if needs, _ := p.Needs(own, false); len(needs) != 1 || needs[0].ID != "review:gpuaas" || !strings.HasPrefix(needs[0].Describe(), "default:") {
		t.Fatalf("own-layer needs = %v", needs)
	}
	if p.IsSafeFallback(task) {
		t.Fatal("a mutating edge change counted as safe fallback work")
	}
	if !p.IsSafeFallback(&fairway.Task{Labels: []string{"safe-fallback"}}) {
		t.Fatal("a labelled, non-mutating task is safe fallback work")
	}
}

func TestLoad_EnvironmentErrorsNamePlace(t *testing.T) {
	base := string(demo.Policy)
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown class", "class: dev\n", "class: qa\n", `environments.dev.class: "qa" is not an environment class: use one of kind, dev, staging, production`},
		{"undefined change class", "change_class: production-deploy\n", "change_class: prod-push\n",
			`environments.production.change_class: protected environment "production" deploys as change class "prod-push", which protected_change_classes does not define`},
		{"window ends first", "change_class: production-deploy\n",
			"change_class: production-deploy\n    approval_windows:\n      - {start: 2026-11-02T17:00:00Z, end: 2026-11-02T09:00:00Z}\n",
			"environments.production.approval_windows[0].end: the window ends before it starts"},
		{"window on unprotected", "class: dev\n", "class: dev\n    approval_windows:\n      - {start: 2026-11-02T09:00:00Z, end: 2026-11-02T17:00:00Z}\n",
			"environments.dev.approval_windows: approval windows are for protected environments"},
		{"rule names unknown environment", "deploy_runs: [dev]", "deploy_runs: [qa]", `rules[1].deploy_runs[0]: environment "qa" is not declared under environments`},
		{"unknown environment prerequisite", "    class: dev\n    prerequisites: [kind-compute-capacity]\n", "    class: dev\n    prerequisites: [gpu-capacity]\n",
			`environments.dev.prerequisites[0]: prerequisite "gpu-capacity" is not declared under prerequisites`},
		{"a secret where its name goes", "secret_env: FAIRWAY_GITHUB_WEBHOOK_SECRET\n", "secret_env: hunter2-not-a-name\n",
			`webhooks.github.secret_env: "hunter2-not-a-name" is not an environment variable name`},
		{"unknown webhook source", "  generic:\n", "  gitlab:\n", `webhooks.gitlab#key: "gitlab" is not a webhook source: use github or generic`},
		{"bad skew", "max_skew: 5m\n", "max_skew: forever\n", `webhooks.generic.max_skew: "forever" is not a duration between 1s and 24h`},
	}
	for _, c := range cases {
		if !strings.Contains(base, c.from) {
			t.Fatalf("%s: fixture text %q not in the demo policy", c.name, c.from)
		}
		src := strings.Replace(base, c.from, c.to, 1)
		_, err := policy.Load("governance.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
			continue
		}
		// file:line of the offending node: the last line of what changed.
		to := strings.TrimSuffix(c.to, "\n")
		at := strings.Index(src, to) + strings.LastIndex(to, "\n") + 1
		line := 1 + strings.Count(src[:at], "\n")
		if !strings.HasPrefix(err.Error(), "governance.yaml:"+strconv.Itoa(line)+":") {
			t.Errorf("%s: %q does not point at line %d", c.name, err, line)
		}
	}
}

func TestEnvironment_WindowAt(t *testing.T) {
	day := func(h int) time.Time { return time.Date(2026, 11, 2, h, 0, 0, 0, time.UTC) }
	e := &policy.Environment{ApprovalWindows: []policy.Window{{Start: day(14), End: day(16)}, {Start: day(9), End: day(11)}}}
	cases := []struct {
		at         time.Time
		open, next time.Time
	}{
		{day(8), time.Time{}, day(9)},
		{day(9), day(9), time.Time{}},
		{day(11), time.Time{}, day(14)},
		{day(15), day(14), time.Time{}},
		{day(16), time.Time{}, time.Time{}},
	}
	for _, c := range cases {
		open, next := e.WindowAt(c.at)
		var gotOpen, gotNext time.Time
		if open != nil {
			gotOpen = open.Start
		}
		if next != nil {
			gotNext = next.Start
		}
		if !gotOpen.Equal(c.open) || !gotNext.Equal(c.next) {
			t.Errorf("at %s: open %s next %s, want %s and %s", c.at, gotOpen, gotNext, c.open, c.next)
		}
	}
}

func TestNeeds_DefaultsApplyOnlyWhenNothingElseDoes(t *testing.T) {
	p, err := policy.Load("governance.yaml", demo.Policy)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		task fairway.Task
		want string
	}{
		{"layered lane takes its layer's domain", fairway.Task{Key: "P-1", Lane: "platform"}, "review:platform"},
		{"closeout belongs to the shared platform", fairway.Task{Key: "C-1", Lane: "closeout"}, "review:platform"},
		{"unclaimed lane takes the default domains", fairway.Task{Key: "S-1", Lane: "safe-work", Labels: []string{"safe-fallback"}}, "review:ops"},
		{"a rule that applies replaces the default", fairway.Task{Key: "M-1", Lane: "safe-work", Labels: []string{"monitor"}}, "evidence:ci-terminal"},
		{"a named domain replaces the default", fairway.Task{Key: "N-1", Lane: "platform", ReviewDomains: []string{"security"}}, "review:security"},
	}
	for _, c := range cases {
		needs, err := p.Needs(&c.task, false)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ids []string
		for _, n := range needs {
			ids = append(ids, n.ID)
		}
		if strings.Join(ids, ",") != c.want {
			t.Errorf("%s: needs %v, want %s", c.name, ids, c.want)
		}
	}
	// Without a defaults section nothing is invented.
	bare, err := policy.Load("governance.yaml", []byte(strings.Replace(string(demo.Policy), "defaults:\n  layer_review: true\n  review_domains: [ops]\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if needs, _ := bare.Needs(&fairway.Task{Key: "S-1", Lane: "safe-work"}, false); len(needs) != 0 {
		t.Fatalf("needs without defaults = %v", needs)
	}
}

// A path maps to the layers whose path: contracts match it, and a scope
// glob matches as contracts do, a folder named plainly covering what is
// under it.
func TestOwnersOfPathAndMatchPath(t *testing.T) {
	p, err := policy.Load("governance.yaml", demo.Policy)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"services/gpuaas/alloc/api.go": "gpuaas-product",
		"services/platform/iam.go":     "shared-platform",
		"services/gpuaasx/api.go":      "",
		"docs/readme.md":               "",
	} {
		if got := strings.Join(p.OwnersOfPath(path), ","); got != want {
			t.Errorf("OwnersOfPath(%s) = %q, want %q", path, got, want)
		}
	}
	for _, c := range []struct {
		glob, path string
		want       bool
	}{
		{"services/platform/**", "services/platform/a/b.go", true},
		{"services/platform/*", "services/platform/a/b.go", false},
		{"services/platform/*.go", "services/platform/b.go", true},
		{"services/platform", "services/platform/a/b.go", true},
		{"services/platform/", "services/platform/a/b.go", true},
		{"services/plat", "services/platform/a.go", false},
		{"path:docs/**", "docs/a.md", true},
		{"", "a", false},
	} {
		if got := policy.MatchPath(c.glob, c.path); got != c.want {
			t.Errorf("MatchPath(%q, %q) = %t", c.glob, c.path, got)
		}
	}
}
