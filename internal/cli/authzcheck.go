package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/wamp"
)

const authzCheckUsage = "usage: tollgate authz check --config FILE --realm R [--match M] (--role ROLE --uri U --action A | < TABLE)"

// runAuthz is `tollgate authz check`: it evaluates a config's static roles
// offline, exactly as the router does (package authz compiles them the
// same way), so a permission config can be unit-tested in CI. One
// question from flags, or a table from stdin: lines "ROLE ACTION URI
// [allow|deny]" (blank lines and # comments skipped; no expectation means
// allow). Exit 0 when every answer is allow (or as expected), 1 otherwise,
// 2 for a usage error. A dynamic role's question cannot be answered
// offline: it counts as a deny, saying so.
func runAuthz(_ context.Context, args []string, s stdio) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(s.errOut, authzCheckUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("tollgate authz check", flag.ContinueOnError)
	fs.SetOutput(s.errOut)
	file := fs.String("config", "", "config `FILE`")
	realm := fs.String("realm", "", "`REALM` whose roles are checked")
	role := fs.String("role", "", "`ROLE` (one question)")
	uri := fs.String("uri", "", "`URI` (one question)")
	action := fs.String("action", "", "`ACTION`: call, register, publish or subscribe (one question)")
	match := fs.String("match", "", "the request's match policy (exact, prefix, wildcard), e.g. for a prefix registration")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	one := *role != "" || *uri != "" || *action != ""
	if *file == "" || *realm == "" || fs.NArg() > 0 || (one && (*role == "" || *uri == "" || *action == "")) {
		fmt.Fprintln(s.errOut, authzCheckUsage)
		return exitUsage
	}
	ar, err := loadAuthzRealm(*file, *realm)
	if err != nil {
		fmt.Fprintf(s.errOut, "tollgate authz check: %v\n", err)
		return exitFail
	}
	var options wamp.Dict
	if *match != "" {
		options = wamp.Dict{"match": *match}
	}
	if one {
		ok, err := checkOne(ar, s.out, *realm, *role, *action, *uri, options, "allow")
		if err != nil {
			fmt.Fprintf(s.errOut, "tollgate authz check: %v\n", err)
			return exitUsage
		}
		return exitCode(ok)
	}
	return checkTable(ar, s, *realm, options)
}

func exitCode(ok bool) int {
	if ok {
		return exitOK
	}
	return exitFail
}

// loadAuthzRealm compiles realm's roles from the config file.
func loadAuthzRealm(file, realm string) (*authz.Realm, error) {
	cfg, _, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	for _, r := range cfg.Realms {
		if r.Name == wamp.URI(realm) {
			return authz.NewRealm(r.Name, r.Roles, authz.Options{Caller: offline{}, CacheSize: -1})
		}
	}
	return nil, fmt.Errorf("%s has no realm %q", file, realm)
}

// offline is the Caller of an offline check: never called (Explain is not
// asked to), refusing if it were.
type offline struct{}

func (offline) Call(context.Context, wamp.URI, wamp.URI, wamp.List, wamp.Dict) (wamp.List, wamp.Dict, error) {
	return nil, nil, errors.New("offline check: no authorizer to ask")
}

// checkOne prints one answer and reports whether it is the expected one.
func checkOne(ar *authz.Realm, w io.Writer, realm, role, action, uri string, options wamp.Dict, expect string) (bool, error) {
	switch authz.Action(action) {
	case authz.ActionCall, authz.ActionRegister, authz.ActionPublish, authz.ActionSubscribe:
	default:
		return false, fmt.Errorf("action %q is not call, register, publish or subscribe", action)
	}
	if expect != "allow" && expect != "deny" {
		return false, fmt.Errorf("expectation %q is not allow or deny", expect)
	}
	s := &authz.Session{Realm: wamp.URI(realm), AuthRole: role}
	e := ar.Explain(context.Background(), s, wamp.URI(uri), authz.Action(action), options, false)
	verdict := "deny"
	if e.Allow {
		verdict = "allow"
	}
	why := e.Source
	switch {
	case e.RuleMatch != "":
		why = fmt.Sprintf("%s rule %d: %s %q", e.Source, e.RuleIndex, e.RuleMatch, e.RuleURI)
	case e.Message != "":
		why = e.Source + ": " + e.Message
	case e.Source == authz.SourceDefault && !e.Allow:
		why = "no permission matches"
	}
	mark := ""
	if verdict != expect {
		mark = "  (expected " + expect + ")"
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s%s\n", verdict, role, action, uri, why, mark)
	return verdict == expect, nil
}

// checkTable answers every line of stdin.
func checkTable(ar *authz.Realm, s stdio, realm string, options wamp.Dict) int {
	sc := bufio.NewScanner(s.in)
	all, n := true, 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 3 || len(f) > 4 {
			fmt.Fprintf(s.errOut, "tollgate authz check: stdin line %d: want ROLE ACTION URI [allow|deny], got %q\n", line, text)
			return exitUsage
		}
		expect := "allow"
		if len(f) == 4 {
			expect = f[3]
		}
		ok, err := checkOne(ar, s.out, realm, f[0], f[1], f[2], options, expect)
		if err != nil {
			fmt.Fprintf(s.errOut, "tollgate authz check: stdin line %d: %v\n", line, err)
			return exitUsage
		}
		all = all && ok
		n++
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(s.errOut, "tollgate authz check: reading stdin: %v\n", err)
		return exitFail
	}
	if n == 0 {
		fmt.Fprintln(s.errOut, "tollgate authz check: no questions (give --role, --uri and --action, or lines on stdin)")
		return exitUsage
	}
	return exitCode(all)
}
