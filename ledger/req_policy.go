package ledger

import (
	"fmt"

	"fairway"
)

// policyRequirements says whether a policy is in force at all and, for a
// task that proposes a new policy, whether the proposal was made on the
// policy in force (R13). Neither can be waived.
func policyRequirements(f *facts) []fairway.Requirement {
	if f.record == nil {
		return []fairway.Requirement{{ID: "policy", Kind: "policy", Name: "governance policy", State: fairway.ReqNotApplicable,
			Detail: "no governance policy is in force, so only dependencies are checked; bootstrap one with `fairway policy apply FILE`"}}
	}
	if f.proposal == nil {
		return nil
	}
	r := fairway.Requirement{ID: "policy-base", Kind: "policy", Name: "proposal base", State: fairway.ReqSatisfied,
		Detail: "the proposal was made on the policy in force (" + f.record.Digest + ")"}
	if f.proposal.Base != f.record.Digest {
		r.State = fairway.ReqUnsatisfied
		r.Detail = fmt.Sprintf("the policy in force changed since this proposal (proposed on %s, now %s)", f.proposal.Base, f.record.Digest)
		r.Remedy = fmt.Sprintf("propose the change again on top of the policy in force: `fairway policy propose FILE --task %s`", f.task.Key)
	}
	return []fairway.Requirement{r}
}
