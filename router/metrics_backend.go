package router

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Calls the router makes to dynamic authenticators and authorizers, timed
// by outcome (tollgate_backend_call_duration_seconds). Each is one call on
// a join or an authorizer cache miss, not per message, so one shared
// histogram is fine.

// backendCaller is the router's Call, timed as kind ("authenticator" or
// "authorizer"). It implements auth.Caller and authz.Caller.
type backendCaller struct {
	r    *Router
	kind string
}

func (b backendCaller) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	start := time.Now()
	rargs, rkw, err := b.r.Call(ctx, realm, procedure, args, kwargs)
	b.r.backendCalls().WithLabelValues(b.kind, callOutcome(err)).Observe(time.Since(start).Seconds())
	return rargs, rkw, err
}

// callOutcome is the bounded outcome label of a backend call.
func callOutcome(err error) string {
	var ce *wamp.CallError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ce):
		return "error"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "failure"
}

// backendCalls is the histogram, made on first use.
func (r *Router) backendCalls() *prometheus.HistogramVec {
	r.prom.backendOnce.Do(func() {
		r.prom.backend = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_backend_call_duration_seconds",
			Help:    "Calls from the router to dynamic authenticators and authorizers, by kind and outcome (ok, error, timeout, canceled, failure).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"kind", "outcome"})
	})
	return r.prom.backend
}
