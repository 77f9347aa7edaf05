package natscluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The registry: one JetStream KV bucket (<prefix>_regs, memory storage,
// one revision per key), one key per (realm, match, uri). Writes are
// Create and CAS Update, so a single registration has one callee
// cluster-wide; every node watches the bucket and applies each record to
// its router in revision order (the watched replica).

// registry is one node's view of the bucket.
type registry struct {
	c       *Cluster
	bucket  string
	timeout time.Duration

	want    chan struct{} // a REGISTER asks for the bucket to be created
	rewatch chan struct{} // a node was lost: renew the watch (kick)
	ready   chan struct{} // closed once kv is bound and watched
	kv      jetstream.KeyValue

	mu      sync.Mutex // orders Apply calls; guards the fields below
	rx      cluster.RPCReceiver
	records map[string]*cluster.Registration // as stored, by key
	lost    map[uint64]bool                  // incarnations of lost nodes
	applied uint64                           // last revision applied
	waiters []waiter

	catchup catchup // catchup.go
}

type waiter struct {
	rev uint64
	ch  chan struct{}
}

func newRegistry(c *Cluster) *registry {
	return &registry{c: c, bucket: c.cfg.SubjectPrefix + "_regs", timeout: c.cfg.RegistryTimeout,
		want: make(chan struct{}, 1), rewatch: make(chan struct{}, 1), ready: make(chan struct{}),
		records: map[string]*cluster.Registration{}, lost: map[uint64]bool{}}
}

// run binds the bucket (creating it once a REGISTER wants it) and applies
// its records until ctx ends.
func (r *registry) run(ctx context.Context) {
	if !r.c.jetStream() {
		return
	}
	js, err := jetstream.New(r.c.nc)
	if err != nil {
		r.c.log.Error("cluster: jetstream", "err", err)
		return
	}
	create := false
	for r.kv == nil {
		kv, err := r.bind(ctx, js, create)
		switch {
		case err == nil:
			r.kv = kv
			continue
		case ctx.Err() != nil:
			return
		case !errors.Is(err, jetstream.ErrBucketNotFound):
			r.c.log.Debug("cluster: registry not ready", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.want:
			create = true
		case <-time.After(250 * time.Millisecond):
		}
	}
	r.watch(ctx)
}

// watch applies the bucket's records until ctx ends. The watch is an
// ordered consumer on one of the stream's servers: when a node is lost it
// starts again from the next revision (nats.go would notice a consumer
// gone with its server only after two missed 5 s heartbeats).
func (r *registry) watch(ctx context.Context) {
	w, err := r.kv.WatchAll(ctx)
	if err != nil {
		r.c.log.Error("cluster: registry watch", "err", err)
		return
	}
	defer func() { _ = w.Stop() }()
	close(r.ready)
	initial := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.rewatch:
			if !r.c.renewable() { // watchhealth.go: no meta leader to create the consumer
				time.AfterFunc(250*time.Millisecond, r.kick)
				continue
			}
			r.mu.Lock()
			next := r.applied + 1
			r.mu.Unlock()
			nw, err := r.kv.WatchAll(ctx, jetstream.ResumeFromRevision(next))
			if err != nil { // the stream has no leader yet
				r.c.log.Debug("cluster: registry watch not renewed yet", "err", err)
				time.AfterFunc(250*time.Millisecond, r.kick)
				continue
			}
			// Stopping deletes the old consumer: a request that waits
			// 5 s when that consumer's server is gone, and the new watch
			// must be read meanwhile (watchhealth.go measures the cost).
			go func(old jetstream.KeyWatcher) { _ = old.Stop() }(w)
			w = nw
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			switch {
			case e != nil:
				r.entry(e)
			case initial: // nil marks the end of the initial values
				initial = false
				r.c.purgeStale() // cleanup.go: entries of this node's previous process
			}
		}
	}
}

// bind opens the bucket, creating it when create is set: replicas as
// configured, else 3 with at least 3 servers in view and 1 below.
func (r *registry) bind(ctx context.Context, js jetstream.JetStream, create bool) (jetstream.KeyValue, error) {
	// Short lookups: until JetStream has its meta leader (0.3–6 s after a
	// cold start) a request gets no answer.
	lctx, lcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	kv, err := js.KeyValue(lctx, r.bucket)
	lcancel()
	if err == nil || !create || !errors.Is(err, jetstream.ErrBucketNotFound) {
		return kv, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n := r.c.cfg.RegistryReplicas
	if n == 0 {
		n = 1
		if r.c.srv == nil || r.c.Peers() >= 2 {
			n = 3
		}
	}
	cfg := jetstream.KeyValueConfig{Bucket: r.bucket, History: 1, Storage: jetstream.MemoryStorage, Replicas: n}
	kv, err = js.CreateKeyValue(ctx, cfg)
	if err != nil && r.c.cfg.RegistryReplicas == 0 && n > 1 {
		// an external NATS of one server
		cfg.Replicas = 1
		kv, err = js.CreateKeyValue(ctx, cfg)
	}
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, r.bucket)
	}
	return kv, err
}

// kick asks for the watch to be renewed.
func (r *registry) kick() {
	select {
	case r.rewatch <- struct{}{}:
	default:
	}
}

// entry applies one watched revision (once: a renewed watch may repeat).
func (r *registry) entry(e jetstream.KeyValueEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Revision() <= r.applied {
		return
	}
	var rec *cluster.Registration
	if e.Operation() == jetstream.KeyValuePut {
		var err error
		if rec, err = cluster.DecodeRegistration(e.Value()); err != nil {
			r.c.log.Warn("cluster: bad registry record", "key", e.Key(), "err", err)
		}
	}
	old := r.records[e.Key()]
	switch {
	case rec != nil:
		r.records[e.Key()] = rec
		r.apply(rec)
	case old != nil:
		delete(r.records, e.Key())
		r.apply(&cluster.Registration{Realm: old.Realm, Procedure: old.Procedure, Match: old.Match, Invoke: old.Invoke, ID: old.ID})
	}
	r.applied = e.Revision()
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if w.rev <= r.applied {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	r.waiters = kept
}

// apply hands rec to the router without the callees of lost nodes.
// Called with r.mu held.
func (r *registry) apply(rec *cluster.Registration) {
	if r.rx == nil {
		return
	}
	cp := *rec
	cp.Callees = r.live(rec.Callees)
	r.rx.Apply(&cp)
}

// live returns the callees not on a lost node, in a new slice.
func (r *registry) live(cs []cluster.Callee) []cluster.Callee {
	out := make([]cluster.Callee, 0, len(cs))
	for _, c := range cs {
		if !r.lost[c.Incarnation] {
			out = append(out, c)
		}
	}
	return out
}

// nodeLost drops incarnation inc of node from the replica, now and in
// records still to come (the janitor cleans the bucket itself); inc 0
// loses every incarnation of node seen in a record.
func (r *registry) nodeLost(node string, inc uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gone := func(c cluster.Callee) bool { return c.Node == node && (inc == 0 || c.Incarnation == inc) }
	var hit []*cluster.Registration
	for _, rec := range r.records {
		if slices.ContainsFunc(rec.Callees, func(c cluster.Callee) bool { return gone(c) && !r.lost[c.Incarnation] }) {
			hit = append(hit, rec)
		}
	}
	if inc != 0 {
		r.lost[inc] = true
	}
	for _, rec := range hit {
		for _, c := range rec.Callees {
			if gone(c) {
				r.lost[c.Incarnation] = true
			}
		}
	}
	for _, rec := range hit {
		r.apply(rec)
	}
	r.kick()
}

// fenced makes every callee live again but those of this node's old
// incarnation, reapplies the records and renews the watch (stalled, or
// on a server of the side this node was cut off from). The nodes this one
// lost while cut off are the majority; the callees of truly dead ones are
// removed by their janitor.
func (r *registry) fenced(old uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost = map[uint64]bool{old: true}
	for _, rec := range r.records {
		r.apply(rec)
	}
	r.kick()
}

// await returns once revision rev is applied, or ctx ends.
func (r *registry) await(ctx context.Context, rev uint64) error {
	r.mu.Lock()
	if r.applied >= rev {
		r.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	r.waiters = append(r.waiters, waiter{rev, ch})
	r.mu.Unlock()
	// A revision written but not seen within a second: the watch's
	// consumer may be on a server that is gone or cut off; renew it.
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ch:
			return nil
		case <-t.C:
			r.kick()
		case <-ctx.Done():
			return fmt.Errorf("%w: revision %d not applied here: %w", cluster.ErrUnavailable, rev, ctx.Err())
		}
	}
}

// store returns the bound bucket, asking for it to be created.
func (r *registry) store(ctx context.Context) (jetstream.KeyValue, error) {
	if !r.c.jetStream() {
		return nil, fmt.Errorf("%w: the embedded NATS runs without JetStream (a node with a route listener needs the routes to its peers)", cluster.ErrUnavailable)
	}
	if !r.c.nc.IsConnected() { // a request would wait out its timeout
		return nil, fmt.Errorf("%w: not connected to NATS", cluster.ErrUnavailable)
	}
	select {
	case <-r.ready:
		return r.kv, nil
	default:
	}
	select {
	case r.want <- struct{}{}:
	default:
	}
	select {
	case <-r.ready:
		return r.kv, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", cluster.ErrUnavailable, ctx.Err())
	}
}

// settling reports whether err comes from a stream that is not ready yet
// (just created, or its leader moving), after pausing so the operation
// can be retried; false once ctx ends.
func settling(ctx context.Context, err error) bool {
	if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, jetstream.ErrNoStreamResponse) {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// Register implements cluster.RPC: Create for a new key, CAS Update to
// join a shared registration, retried on a conflict. Callees of lost
// nodes no longer count (and are dropped from the record written).
func (c *Cluster) Register(ctx context.Context, realm, procedure wamp.URI, match, invoke string, callee cluster.Callee) (wamp.ID, bool, error) {
	r := c.reg
	if callee.Incarnation != c.incarnation() {
		return 0, false, errFenced
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	kv, err := r.store(ctx)
	if err != nil {
		return 0, false, err
	}
	key := cluster.RegistryKey(realm, procedure, match)
	unsure := false
	for range 64 {
		rec, rev, err := r.get(ctx, kv, key)
		if settling(ctx, err) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		var live []cluster.Callee
		if rec != nil {
			r.mu.Lock()
			live = r.live(rec.Callees)
			r.mu.Unlock()
		}
		created := len(live) == 0
		mine := slices.ContainsFunc(live, func(x cluster.Callee) bool { return x.Node == callee.Node && x.Session == callee.Session })
		switch {
		case mine && unsure:
			// the write that timed out was applied after all
			return rec.ID, len(live) == 1, r.await(ctx, rev)
		case created:
			rec = &cluster.Registration{Realm: realm, Procedure: procedure, Match: match, Invoke: invoke, ID: wamp.GlobalID()}
		case mine || rec.Invoke == wamp.InvokeSingle || rec.Invoke != invoke:
			return 0, false, cluster.ErrProcedureExists
		}
		rec.Callees = append(live, callee)
		b, err := cluster.EncodeRegistration(rec)
		if err != nil {
			return 0, false, err
		}
		var nrev uint64
		if rev == 0 {
			nrev, err = kv.Create(ctx, key, b)
		} else {
			nrev, err = kv.Update(ctx, key, b, rev)
		}
		// No answer from the stream: the write may have been applied.
		unsure = unsure || errors.Is(err, jetstream.ErrNoStreamResponse)
		if conflict(err) || settling(ctx, err) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("%w: %w", cluster.ErrUnavailable, err)
		}
		err = r.await(ctx, nrev)
		if err == nil && callee.Incarnation != c.incarnation() {
			err = errFenced // the fence's cleanup may have run before this write
		}
		if err != nil {
			// Written but not here in time, or by a fenced incarnation:
			// take it back, so no callee is registered that its session
			// was told it is not.
			bg, cancel := context.WithTimeout(context.Background(), r.timeout)
			defer cancel()
			if uerr := c.Unregister(bg, realm, procedure, match, callee.Session); uerr != nil {
				c.log.Warn("cluster: registry entry left behind", "procedure", procedure, "err", uerr)
			}
			return 0, false, err
		}
		return rec.ID, created, nil
	}
	return 0, false, fmt.Errorf("%w: too many concurrent changes to %q", cluster.ErrUnavailable, procedure)
}

// get reads key: nil and revision 0 when it does not exist.
func (r *registry) get(ctx context.Context, kv jetstream.KeyValue, key string) (*cluster.Registration, uint64, error) {
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		return nil, 0, nil
	case err != nil:
		return nil, 0, fmt.Errorf("%w: %w", cluster.ErrUnavailable, err)
	}
	rec, err := cluster.DecodeRegistration(e.Value())
	if err != nil {
		// an unreadable record is replaced
		return &cluster.Registration{}, e.Revision(), nil
	}
	return rec, e.Revision(), nil
}

// Unregister implements cluster.RPC (remove, cleanup.go).
func (c *Cluster) Unregister(ctx context.Context, realm, procedure wamp.URI, match string, session wamp.ID) error {
	r := c.reg
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	kv, err := r.store(ctx)
	if err != nil {
		return err
	}
	node := c.cfg.Node
	return r.remove(ctx, kv, cluster.RegistryKey(realm, procedure, match), func(x cluster.Callee) bool { return x.Node == node && x.Session == session })
}

// Callees returns the live callees this node's replica holds for (realm,
// match, uri), for tests and diagnostics.
func (c *Cluster) Callees(realm, procedure wamp.URI, match string) []cluster.Callee {
	r := c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.records[cluster.RegistryKey(realm, procedure, match)]
	if rec == nil {
		return nil
	}
	return r.live(rec.Callees)
}

// WaitRegistry returns once the registry is bound and watched here,
// creating the bucket if it does not exist (a cold JetStream takes 0.3–6 s).
func (c *Cluster) WaitRegistry(ctx context.Context) error {
	_, err := c.reg.store(ctx)
	return err
}
