package meta

import (
	"slices"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// The wamp.session.* procedures but testaments (testament.go).

// authroleFilter reads the optional [filter_authroles] of count and list.
func authroleFilter(proc string, args wamp.List, kwargs wamp.Dict) (func(Session) bool, error) {
	if err := wantArgs(proc, args, 0, 1); err != nil {
		return nil, err
	}
	if err := noKwargs(proc, kwargs); err != nil {
		return nil, err
	}
	if len(args) == 0 || args[0] == nil {
		return nil, nil
	}
	l, ok := args[0].(wamp.List)
	if !ok {
		return nil, invalidArg("%s: filter_authroles must be a list of strings, got %T", proc, args[0])
	}
	roles := make([]string, len(l))
	for i, v := range l {
		if roles[i], ok = v.(string); !ok {
			return nil, invalidArg("%s: filter_authroles must be a list of strings, got a %T", proc, v)
		}
	}
	return func(s Session) bool { return slices.Contains(roles, s.AuthRole()) }, nil
}

func (m *Meta) sessionCount(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	keep, err := authroleFilter("wamp.session.count", args, kwargs)
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(m.visibleSessions(m.trustedCaller(caller), keep)))}, nil, nil
}

func (m *Meta) sessionList(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	keep, err := authroleFilter("wamp.session.list", args, kwargs)
	if err != nil {
		return nil, nil, err
	}
	ss := m.visibleSessions(m.trustedCaller(caller), keep)
	ids := make(wamp.List, len(ss))
	for i, s := range ss {
		ids[i] = s.ID()
	}
	return wamp.List{ids}, nil, nil
}

func (m *Meta) sessionGet(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.get"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := noKwargs(proc, kwargs); err != nil {
		return nil, nil, err
	}
	id, err := idArg(proc, "session_id", args[0])
	if err != nil {
		return nil, nil, err
	}
	s := m.visibleSession(id, m.trustedCaller(caller))
	if s == nil {
		return nil, nil, metaError(wamp.ErrNoSuchSession, "no session %d on realm %s", id, m.name)
	}
	return wamp.List{s.SessionDetails()}, nil, nil
}

// killArgs reads the reason and message keyword arguments of the kill
// procedures.
func killArgs(proc string, kwargs wamp.Dict) (reason wamp.URI, msg string, err error) {
	if err := noKwargs(proc, kwargs, "reason", "message"); err != nil {
		return "", "", err
	}
	reason = wamp.CloseKilled
	if v, ok := kwargs["reason"]; ok && v != nil {
		r, isString := v.(string)
		if !isString || !wamp.ValidURI(wamp.URI(r), false, wamp.MatchExact) {
			return "", "", metaError(wamp.ErrInvalidURI, "%s: reason must be a valid URI, got %v", proc, v)
		}
		reason = wamp.URI(r)
	}
	if v, ok := kwargs["message"]; ok && v != nil {
		if msg, err = stringArg(proc, "message", v); err != nil {
			return "", "", err
		}
	}
	return reason, msg, nil
}

// kill says GOODBYE to each session. It never blocks: the GOODBYE is
// queued and the session's own read loop ends it (after the peer's reply
// or GoodbyeTimeout), publishing its testaments and on_leave.
func kill(ss []Session, reason wamp.URI, msg string) {
	for _, s := range ss {
		s.Kill(reason, msg)
	}
}

func (m *Meta) sessionKill(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	id, err := idArg(proc, "session_id", args[0])
	if err != nil {
		return nil, nil, err
	}
	reason, msg, err := killArgs(proc, kwargs)
	if err != nil {
		return nil, nil, err
	}
	s := m.visibleSession(id, m.trustedCaller(caller))
	if s == nil || id == caller {
		return nil, nil, metaError(wamp.ErrNoSuchSession, "no session %d on realm %s (a session cannot kill itself)", id, m.name)
	}
	kill([]Session{s}, reason, msg)
	return nil, nil, nil
}

// killWhere kills every session caller may see that keep selects, except
// the caller.
func (m *Meta) killWhere(caller wamp.ID, proc string, kwargs wamp.Dict, keep func(Session) bool) ([]Session, error) {
	reason, msg, err := killArgs(proc, kwargs)
	if err != nil {
		return nil, err
	}
	ss := m.visibleSessions(m.trustedCaller(caller), func(s Session) bool { return s.ID() != caller && keep(s) })
	kill(ss, reason, msg)
	return ss, nil
}

func (m *Meta) sessionKillByAuthID(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill_by_authid"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	authid, err := stringArg(proc, "authid", args[0])
	if err != nil {
		return nil, nil, err
	}
	ss, err := m.killWhere(caller, proc, kwargs, func(s Session) bool { return s.AuthID() == authid })
	if err != nil {
		return nil, nil, err
	}
	ids := make(wamp.List, len(ss))
	for i, s := range ss {
		ids[i] = s.ID()
	}
	return wamp.List{ids}, nil, nil
}

func (m *Meta) sessionKillByAuthRole(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill_by_authrole"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	authrole, err := stringArg(proc, "authrole", args[0])
	if err != nil {
		return nil, nil, err
	}
	ss, err := m.killWhere(caller, proc, kwargs, func(s Session) bool { return s.AuthRole() == authrole })
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(ss))}, nil, nil
}

func (m *Meta) sessionKillAll(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill_all"
	if err := wantArgs(proc, args, 0, 0); err != nil {
		return nil, nil, err
	}
	ss, err := m.killWhere(caller, proc, kwargs, func(Session) bool { return true })
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(ss))}, nil, nil
}
