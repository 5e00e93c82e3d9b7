package fairway_test

import (
	"testing"

	"fairway"
)

func TestTaskCreate_Validate(t *testing.T) {
	p := func(n int) *int { return &n }
	cases := []struct {
		name  string
		in    fairway.TaskCreate
		field string
	}{
		{"ok with key", fairway.TaskCreate{Key: "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001", Title: "t"}, "-"},
		{"ok from lane", fairway.TaskCreate{Lane: "closeout", Title: "t"}, "-"},
		{"no key no lane", fairway.TaskCreate{Title: "t"}, "key"},
		{"lower-case key", fairway.TaskCreate{Key: "ops-1", Title: "t"}, "key"},
		{"trailing dash", fairway.TaskCreate{Key: "OPS-", Title: "t"}, "key"},
		{"blank title", fairway.TaskCreate{Key: "A-1", Title: " \t"}, "title"},
		{"risk", fairway.TaskCreate{Key: "A-1", Title: "t", Risk: "huge"}, "risk"},
		{"priority", fairway.TaskCreate{Key: "A-1", Title: "t", Priority: p(5)}, "priority"},
		{"domain", fairway.TaskCreate{Key: "A-1", Title: "t", ReviewDomains: []string{"Ops Team"}}, "review_domains"},
		{"empty surface", fairway.TaskCreate{Key: "A-1", Title: "t", Scope: fairway.Scope{Surfaces: []string{""}}}, "scope.surfaces"},
	}
	for _, c := range cases {
		err := c.in.Validate()
		if c.field == "-" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		fe, ok := err.(*fairway.Error)
		if !ok || fe.Code != fairway.EINVALID || fe.Field != c.field {
			t.Errorf("%s: err = %#v, want invalid field %q", c.name, err, c.field)
		}
	}
}

func TestTransition_Validate(t *testing.T) {
	cases := []struct {
		in    fairway.Transition
		field string
	}{
		{fairway.Transition{Status: "in_progress"}, ""},
		{fairway.Transition{Status: "blocked", WaitReason: "capacity"}, ""},
		{fairway.Transition{Status: "blocked"}, "wait_reason"},
		{fairway.Transition{Status: "blocked", WaitReason: "lunch"}, "wait_reason"},
		{fairway.Transition{Status: "open", WaitReason: "capacity"}, "wait_reason"},
		{fairway.Transition{Status: "finished"}, "status"},
	}
	for _, c := range cases {
		err := c.in.Validate()
		got := ""
		if fe, ok := err.(*fairway.Error); ok {
			got = fe.Field
		} else if err != nil {
			got = err.Error()
		}
		if got != c.field {
			t.Errorf("%+v: field %q, want %q", c.in, got, c.field)
		}
	}
}

func TestAllowedTransitions_DoneOnlyThroughGate(t *testing.T) {
	for _, s := range fairway.Statuses {
		for _, to := range fairway.AllowedTransitions(s) {
			if to == fairway.StatusDone || to == fairway.StatusCancelled {
				t.Errorf("plain transition %s → %s must not exist", s, to)
			}
		}
	}
	if n := len(fairway.AllowedTransitions(fairway.StatusDone)); n != 0 {
		t.Errorf("done has %d outgoing transitions", n)
	}
}
