package config

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Guest is a Crossbar guest worker: a program the node starts next to the
// router and supervises (typically the application's backend components).
// internal/cli runs it; see docs/config.md for the restart policy.
type Guest struct {
	// Name is the worker's id, or "workerN" (1-based file order).
	Name string
	// Executable is the program: a path (resolved against the config's
	// directory when relative and containing a '/') or a name looked up
	// in PATH when the guest starts.
	Executable string
	Arguments  []string
	// Workdir is the working directory (default: the config's directory).
	Workdir string
	// Env is the child's whole environment, "KEY=value" each.
	Env []string
	// Stdout and Stderr are "log" (lines into the router's log, the
	// default), "drop" or "close".
	Stdout, Stderr string
	// Restart is "never" (Crossbar's behaviour, the default), "on-failure"
	// or "always" (Tollgate's extension key options.restart).
	Restart string
}

// skippedWorkers are Crossbar worker types that Tollgate accepts but does
// not run, and what to do instead.
var skippedWorkers = map[string]string{
	"container":        "Tollgate does not host Python components; run each component as an ordinary WAMP client (or as a guest worker) on a transport that gives it its role",
	"proxy":            "Tollgate has no proxy workers; one Tollgate process serves every transport itself (put a TCP or HTTP load balancer in front for more)",
	"xbrmm":            "XBR market makers are not supported",
	"websocket-testee": "the WebSocket conformance-test worker is not run",
	"hostmonitor":      "host monitoring is not run; use the node exporter or the metrics endpoint",
}

// worker reads one item of workers other than the router worker.
func (p *parser) worker(wm *mapping, typ string, tv *yaml.Node, tp, wp string, i int, c *Config) {
	switch {
	case typ == "guest":
		if g, ok := p.guest(wm, wp, i); ok {
			c.Guests = append(c.Guests, g)
		}
	case skippedWorkers[typ] != "":
		p.warnf(tv, tp, "skipped: worker type %q is not run: %s", typ, skippedWorkers[typ])
		consumeAll(wm)
	default:
		p.errorf(tv, tp, "unknown worker type %q (Tollgate runs router and guest workers, and skips container and proxy workers with a warning)", typ)
		consumeAll(wm)
	}
}

// workerDisabled reports whether a worker has options.disabled: true, and
// warns that it is skipped (as Crossbar skips it).
func (p *parser) workerDisabled(wm *mapping, wp string) bool {
	f := wm.lookup("options")
	if f == nil {
		return false
	}
	// workerOptions reports a malformed options value; here it only
	// matters whether disabled: true is in it.
	n := p.resolve(f.val)
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	var df *field
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "disabled" {
			df = &field{name: "disabled", key: n.Content[i], val: n.Content[i+1]}
		}
	}
	if df == nil {
		return false
	}
	on, ok := p.boolean(df.val, join(join(wp, "options"), "disabled"))
	if !ok || !on {
		return false
	}
	p.warnf(df.key, join(join(wp, "options"), "disabled"), "skipped: this worker is disabled")
	consumeAll(wm)
	return true
}

func (p *parser) guest(m *mapping, path string, i int) (Guest, bool) {
	g := Guest{Name: fmt.Sprintf("worker%d", i+1), Stdout: "log", Stderr: "log", Restart: "never", Workdir: p.dir}
	if id, ok := p.id(m); ok {
		g.Name = id
	}
	m.get("type")
	before := len(p.errs)
	if v, vp := m.need("executable"); v != nil {
		if s, ok := p.str(v, vp); ok {
			switch {
			case s == "":
				p.errorf(v, vp, "empty executable")
			case strings.ContainsRune(s, '/'):
				g.Executable = p.abs(s)
			default:
				g.Executable = s
			}
		}
	}
	if v, vp := m.get("arguments"); v != nil {
		g.Arguments, _ = p.strList(v, vp)
	}
	env := os.Environ()
	if v, vp := m.get("options"); v != nil {
		if om := p.mapping(v, vp); om != nil {
			env = p.guestOptions(om, &g, env)
		}
	}
	g.Env = env
	if v, vp := m.get("stdin"); v != nil {
		// Crossbar's older releases took stdin beside executable.
		p.guestStdin(v, vp)
	}
	m.done()
	return g, len(p.errs) == before
}

// guestOptions reads a guest worker's options and returns its environment.
func (p *parser) guestOptions(om *mapping, g *Guest, env []string) []string {
	if v, vp := om.get("workdir"); v != nil {
		if s, ok := p.str(v, vp); ok && s != "" {
			g.Workdir = p.abs(s)
		}
	}
	if v, vp := om.get("env"); v != nil {
		env = p.guestEnv(v, vp)
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"stdout", &g.Stdout}, {"stderr", &g.Stderr}} {
		if v, vp := om.get(k.key); v != nil {
			*k.dst, _ = p.oneOf(v, vp, "log", "drop", "close")
		}
	}
	if v, vp := om.get("stdin"); v != nil {
		p.guestStdin(v, vp)
	}
	if v, vp := om.get("restart"); v != nil {
		g.Restart, _ = p.oneOf(v, vp, "never", "on-failure", "always")
	}
	om.ignore("watch", "guests are not restarted on file changes")
	om.ignore("startup", "the guest counts as started when its process starts")
	om.get("extra")
	om.get("disabled") // read by workerDisabled
	om.done()
	return env
}

// guestStdin warns about a stdin other than "close": it is always closed.
func (p *parser) guestStdin(v *yaml.Node, vp string) {
	if n := p.resolve(v); n != nil && !(n.Kind == yaml.ScalarNode && n.Value == "close") {
		p.warnf(v, vp, "ignored: the guest's stdin is always closed")
	}
}

// guestEnv reads Crossbar's env: {inherit: bool | [names], vars: {k: v}}.
func (p *parser) guestEnv(n *yaml.Node, path string) []string {
	m := p.mapping(n, path)
	if m == nil {
		return os.Environ()
	}
	env := os.Environ()
	if v, vp := m.get("inherit"); v != nil {
		if rn := p.resolve(v); rn != nil && rn.Kind == yaml.SequenceNode {
			names, _ := p.strList(v, vp)
			env = nil
			for _, name := range names {
				if val, ok := p.lookupEnv(name); ok {
					env = append(env, name+"="+val)
				}
			}
		} else if inherit, ok := p.boolean(v, vp); ok && !inherit {
			env = nil
		}
	}
	if v, vp := m.get("vars"); v != nil {
		if vm := p.mapping(v, vp); vm != nil {
			vm.each(func(k string, kn, val *yaml.Node, kp string) {
				if s, ok := p.str(val, kp); ok {
					env = append(env, k+"="+s)
				}
			})
		}
	}
	m.done()
	return env
}
