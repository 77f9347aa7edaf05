package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/router"
)

// runStatus prints a running router's /status (router/health.go), found
// through --url or the first metrics path of the config's transports.
func runStatus(ctx context.Context, args []string, s stdio) int {
	fs := flag.NewFlagSet("tollgate status", flag.ContinueOnError)
	fs.SetOutput(s.errOut)
	url := fs.String("url", "", "status `URL` (http://host:port/status); default: from the config's metrics path")
	cfgFile := fs.String("config", "", "config `FILE` whose metrics listener to ask; default: the embedded development config")
	asJSON := fs.Bool("json", false, "print the JSON document as served")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.errOut, "tollgate status: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *url == "" {
		u, err := statusURL(*cfgFile)
		if err != nil {
			fmt.Fprintf(s.errOut, "tollgate status: %v\n", err)
			return exitFail
		}
		*url = u
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := fetch(ctx, *url)
	if err != nil {
		fmt.Fprintf(s.errOut, "tollgate status: %v\n", err)
		return exitFail
	}
	if *asJSON {
		s.out.Write(body)
		return exitOK
	}
	var st router.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(s.errOut, "tollgate status: %s is not a Tollgate status document: %v\n", *url, err)
		return exitFail
	}
	printStatus(s.out, &st)
	return exitOK
}

// statusURL finds the first transport serving metrics in file's config.
func statusURL(file string) (string, error) {
	cfg := config.Default()
	if file != "" {
		var err error
		if cfg, _, err = config.Load(file); err != nil {
			return "", err
		}
	}
	for _, t := range cfg.Transports {
		if len(t.Metrics) > 0 && t.Endpoint.Network() != "unix" {
			return "http://" + t.Endpoint.Address() + "/status", nil
		}
	}
	return "", fmt.Errorf("%s has no transport with a metrics path (add `metrics: {type: metrics}` or pass --url)", cfg.File)
}

func fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

func printStatus(w io.Writer, st *router.Status) {
	fmt.Fprintf(w, "version      %s\n", st.Version)
	fmt.Fprintf(w, "uptime       %s (since %s)\n", (time.Duration(st.UptimeSeconds) * time.Second).String(), st.Started.Format(time.RFC3339))
	if st.ConfigFile != "" {
		fmt.Fprintf(w, "config       %s\n", st.ConfigFile)
	}
	switch r := st.LastReload; {
	case r == nil:
		fmt.Fprintf(w, "last reload  never\n")
	case r.OK:
		fmt.Fprintf(w, "last reload  %s ok\n", r.At.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "last reload  %s FAILED (old config in force): %s\n", r.At.Format(time.RFC3339), strings.ReplaceAll(r.Error, "\n", "; "))
	}
	fmt.Fprintf(w, "connections  %d on %d listeners\n", st.Connections, st.Listeners)
	for _, rs := range st.Realms {
		fmt.Fprintf(w, "realm %s: %d sessions, %d registrations, %d subscriptions", rs.Name, rs.Sessions, rs.Registrations, rs.Subscriptions)
		if rs.AuthzCacheEntries != nil && rs.AuthzCacheHitRatio != nil {
			fmt.Fprintf(w, ", authz cache %d entries, hit ratio %.2f", *rs.AuthzCacheEntries, *rs.AuthzCacheHitRatio)
		}
		for _, m := range rs.Missing {
			fmt.Fprintf(w, ", authorizer %s NOT REGISTERED", m)
		}
		fmt.Fprintln(w)
	}
}
