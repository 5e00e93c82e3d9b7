package mcp

import (
	"fairway"
	"fairway/scope"
)

// scopeCheck diffs the project's work tree against base (or the attached
// session's base commit) and records the check on the task.
func (s *Server) scopeCheck(c *call, a map[string]any) (any, error) {
	v, err := need(a, "task", "base")
	if err != nil {
		return nil, err
	}
	task, base := v[0], v[1]
	au := fairway.AuthFromContext(c.ctx)
	dir := ""
	if au.Session != "" {
		sess, err := s.Service.GetSession(c.ctx, au.Session)
		if err != nil {
			return nil, err
		}
		if sess.Task == task {
			dir = sess.Dir
			if base == "" {
				base = sess.BaseCommit
			}
		}
	}
	if base == "" {
		return nil, fairway.FieldError("base", "give the commit your work started from (attach a session first and it is recorded for you)")
	}
	if dir == "" {
		if dir, err = s.root(); err != nil {
			return nil, err
		}
	}
	return s.checkScope(c, task, au.Session, dir, base)
}

// checkScope records a scope check and answers it with the gate's scope
// requirement, which says what to do next.
func (s *Server) checkScope(c *call, task, session, dir, base string) (any, error) {
	paths, err := scope.Changed(dir, base)
	if err != nil {
		return nil, err
	}
	return s.recordScope(c, fairway.ScopeCheck{Task: task, Session: session, Base: base, Paths: paths})
}

// recordScope records a scope check and answers it with the gate's scope
// requirement.
func (s *Server) recordScope(c *call, in fairway.ScopeCheck) (any, error) {
	task := in.Task
	rec, err := s.Service.CheckScope(c.ctx, in)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"check": rec}
	gate, err := s.Service.ExplainGate(c.ctx, task)
	if err != nil {
		return nil, err
	}
	for _, r := range gate.Requirements {
		if r.ID == "scope" {
			out["requirement"] = r
		}
	}
	return out, nil
}

// scopeAtDetach checks a session's change against its task's scope before
// it detaches, when the session recorded its work tree and base commit.
func (s *Server) scopeAtDetach(c *call, id string) (any, error) {
	sess, err := s.Service.GetSession(c.ctx, id)
	if err != nil || sess.Dir == "" || sess.BaseCommit == "" {
		return nil, err
	}
	return s.checkScope(c, sess.Task, sess.ID, sess.Dir, sess.BaseCommit)
}
