package http

import (
	"net/http"
	"time"

	"fairway"
)

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	a, err := s.service.Whoami(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) listActors(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListActors(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) createActor(w http.ResponseWriter, r *http.Request) error {
	var c fairway.ActorCreate
	if err := decode(w, r, &c); err != nil {
		return err
	}
	out, err := s.service.CreateActor(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) getActor(w http.ResponseWriter, r *http.Request) error {
	a, err := s.service.GetActor(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) disableActor(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.service.DisableActor(r.Context(), r.PathValue("name"), in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) bindIdentity(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Issuer  string `json:"issuer"`
		Subject string `json:"subject"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.service.BindIdentity(r.Context(), r.PathValue("name"), in.Issuer, in.Subject)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) rotateToken(w http.ResponseWriter, r *http.Request) error {
	var ttl time.Duration
	if v := r.URL.Query().Get("ttl"); v != "" {
		var err error
		if ttl, err = time.ParseDuration(v); err != nil {
			return fairway.FieldError("ttl", "%q is not a duration: give one such as 720h", v)
		}
	}
	out, err := s.service.RotateToken(r.Context(), r.PathValue("name"), ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request) error {
	n, err := s.service.RevokeTokens(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListTokens(r.Context(), r.URL.Query().Get("actor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.RevokeToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listLanes(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.ListLanes(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) createLane(w http.ResponseWriter, r *http.Request) error {
	var c fairway.LaneCreate
	if err := decode(w, r, &c); err != nil {
		return err
	}
	out, err := s.service.CreateLane(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) getLane(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.GetLane(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.service.ListTasks(r.Context(), fairway.TaskFilter{Lane: q.Get("lane"), Status: q.Get("status"), Owner: q.Get("owner"), Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) error {
	var c fairway.TaskCreate
	if err := decode(w, r, &c); err != nil {
		return err
	}
	out, err := s.service.CreateTask(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.GetTask(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) taskView(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.TaskView(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) error {
	var u fairway.TaskUpdate
	if err := decode(w, r, &u); err != nil {
		return err
	}
	out, err := s.service.UpdateTask(r.Context(), r.PathValue("key"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) takeTask(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.TakeTask(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) transitionTask(w http.ResponseWriter, r *http.Request) error {
	var t fairway.Transition
	if err := decode(w, r, &t); err != nil {
		return err
	}
	out, err := s.service.TransitionTask(r.Context(), r.PathValue("key"), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) closeTask(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Acknowledge []string `json:"acknowledge"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	d, err := s.service.CloseTask(r.Context(), r.PathValue("key"), in.Acknowledge...)
	if err != nil {
		s.writeErrorWith(w, r, err, d)
		return nil
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// cancelRequest is the body of a cancellation.
type cancelRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelTask(w http.ResponseWriter, r *http.Request) error {
	var c cancelRequest
	if err := decode(w, r, &c); err != nil {
		return err
	}
	out, err := s.service.CancelTask(r.Context(), r.PathValue("key"), c.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) explainGate(w http.ResponseWriter, r *http.Request) error {
	d, err := s.service.ExplainGate(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) dependencies(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.Dependencies(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// dependencyRequest names the task that must finish first.
type dependencyRequest struct {
	Blocker string `json:"blocker"`
}

func (s *Server) addDependency(w http.ResponseWriter, r *http.Request) error {
	var d dependencyRequest
	if err := decode(w, r, &d); err != nil {
		return err
	}
	if err := s.service.AddDependency(r.Context(), r.PathValue("key"), d.Blocker); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeDependency(w http.ResponseWriter, r *http.Request) error {
	if err := s.service.RemoveDependency(r.Context(), r.PathValue("key"), r.PathValue("blocker")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	safe := r.URL.Query().Get("safe")
	if safe != "" && safe != "true" && safe != "false" {
		return fairway.FieldError("safe", "%q is not true or false", safe)
	}
	out, err := s.service.Next(r.Context(), fairway.NextFilter{Lane: r.URL.Query().Get("lane"), Limit: limit, SafeOnly: safe == "true", Owner: r.URL.Query().Get("owner")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	after, err := queryInt(r, "after")
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	out, err := s.service.AuditLog(r.Context(), fairway.AuditFilter{AfterSeq: int64(after), Subject: r.URL.Query().Get("subject"), Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNil(out))
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	out, err := s.service.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}
