package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// deliveries are what the subscribers saw.
type deliveries struct {
	delivered, badEvents, lastDelivery atomic.Int64
	duplicated, reordered              atomic.Int64
}

func (r *run) publish(ctx context.Context, res *Result) error {
	cfg := r.cfg
	topic := wamp.URI(cfg.Prefix + ".topic." + r.id)
	ph := newPhase(cfg.Count)
	ph.endAt.Store(-1) // nothing is measured before start
	ph.measureAt.Store(1 << 62)

	subs, err := r.dialSubscribers(ctx)
	if err != nil {
		return err
	}
	defer closeAll(subs)
	workers := cfg.Sessions * cfg.InFlight
	var dv deliveries
	subRecs, err := r.subscribeAll(ctx, subs, topic, ph, workers, &dv)
	if err != nil {
		return err
	}
	pubs, err := r.dialAll(ctx, cfg.Sessions, nil)
	if err != nil {
		return err
	}
	defer closeAll(pubs)

	var (
		errs                    errCounts
		published, backpressure atomic.Int64
	)
	ackRecs := r.drive(ctx, ph, pubs, r.publisher(ctx, topic, ph, workers, &errs, &published, &backpressure))
	pubEnd := ph.now()
	expected := published.Load() * int64(cfg.Subscribers)
	if ctx.Err() == nil {
		awaitDeliveries(ctx, &dv.delivered, expected, cfg.Timeout)
	}

	res.Elapsed = ph.elapsedUntil(pubEnd)
	st := &PublishStats{
		Subscribers: cfg.Subscribers, Ack: cfg.Ack,
		Publishes: published.Load(), Backpressure: backpressure.Load(),
		Expected: expected, Delivered: dv.delivered.Load(), BadEvents: dv.badEvents.Load(),
		Duplicated: dv.duplicated.Load(), Reordered: dv.reordered.Load(), SubSerializers: cfg.SubSerializers,
		Latency: summarize(subRecs),
	}
	st.PublishRate = rate(st.Publishes, res.Elapsed)
	if d := st.Expected - st.Delivered; d > 0 {
		st.Lost = d
	} else {
		st.Extra = -d
	}
	st.DeliveryRate = rate(st.Delivered, ph.elapsedUntil(max(dv.lastDelivery.Load(), pubEnd)))
	for _, s := range subs {
		if sessionDone(s) {
			st.SubscribersLost++
		}
	}
	if cfg.Ack {
		l := summarize(ackRecs)
		st.AckLatency = &l
	}
	st.Errors, st.ErrorCount = errs.snapshot()
	res.Publish = st
	return nil
}

// subscribeAll subscribes every subscriber to topic; each event is checked
// (a publisher's events must arrive once each, in order) and, inside the
// measured window, recorded. It returns one latency recorder a subscriber.
func (r *run) subscribeAll(ctx context.Context, subs []*client.Session, topic wamp.URI, ph *phase, workers int, dv *deliveries) ([]*recorder, error) {
	subRecs := make([]*recorder, len(subs))
	for i, s := range subs {
		rec := newRecorder()
		subRecs[i] = rec
		// last[w] is the sequence number of publishing worker w's latest
		// event. Events of one subscription run one at a time.
		last := make([]int64, workers)
		sctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		_, err := s.Subscribe(sctx, topic, func(_ context.Context, ev *client.Event) {
			now := ph.now()
			ts, w, seq, ok := eventStamp(ev.Args, workers)
			if !ok {
				dv.badEvents.Add(1)
				return
			}
			switch {
			case seq == last[w]:
				dv.duplicated.Add(1)
				return
			case seq < last[w]:
				dv.reordered.Add(1)
				return
			}
			last[w] = seq
			if !ph.inWindow(ts) {
				return
			}
			rec.record(time.Duration(now - ts))
			dv.delivered.Add(1)
			storeMax(&dv.lastDelivery, now)
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("load: subscribing to %s: %w", topic, err)
		}
	}
	return subRecs, nil
}

// publisher returns the drive step of one publishing worker: it publishes
// [timestamp, padding, worker, sequence number] to topic.
func (r *run) publisher(ctx context.Context, topic wamp.URI, ph *phase, workers int, errs *errCounts, published, backpressure *atomic.Int64) func(*client.Session, *recorder, int, int64, bool) bool {
	cfg := r.cfg
	pad := strings.Repeat("x", cfg.Size)
	var opts []client.Option
	if cfg.Ack {
		opts = append(opts, client.Acknowledge())
	}
	seqs := make([]int64, workers) // each written by its worker only
	return func(s *client.Session, rec *recorder, w int, ts int64, measured bool) bool {
		seqs[w]++
		args := wamp.List{ts, pad, w, seqs[w]}
		var err error
		if cfg.Ack {
			pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			err = s.Publish(pctx, topic, args, nil, opts...)
			cancel()
		} else {
			err = s.Publish(ctx, topic, args, nil, opts...)
		}
		if ctx.Err() != nil {
			return true
		}
		if err != nil && !cfg.Ack && errors.Is(err, transport.ErrQueueFull) {
			// The client's own queue is full: wait for it to drain.
			backpressure.Add(1)
			seqs[w]-- // not sent: the number is used again
			if measured {
				ph.unissue()
			}
			time.Sleep(200 * time.Microsecond)
			return false
		}
		if err != nil {
			if measured {
				errs.add(err)
			}
			return sessionDone(s)
		}
		if measured {
			published.Add(1)
			if cfg.Ack {
				rec.record(time.Duration(ph.now() - ts))
			}
		}
		return false
	}
}

// awaitDeliveries lets the events in flight arrive: until all expected
// ones did, no new one came for a second, or timeout passed.
func awaitDeliveries(ctx context.Context, delivered *atomic.Int64, expected int64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	quiet := min(time.Second, timeout)
	last, lastChange := delivered.Load(), time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for delivered.Load() < expected && time.Now().Before(deadline) && time.Since(lastChange) < quiet {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n := delivered.Load(); n != last {
			last, lastChange = n, time.Now()
		}
	}
}

// eventStamp reads [send timestamp, padding, worker, sequence number].
func eventStamp(args []any, workers int) (ts int64, w int, seq int64, ok bool) {
	if len(args) != 4 {
		return 0, 0, 0, false
	}
	ts, ok1 := wamp.AsInt(args[0])
	w64, ok2 := wamp.AsInt(args[2])
	seq, ok3 := wamp.AsInt(args[3])
	if !ok1 || !ok2 || !ok3 || w64 < 0 || w64 >= int64(workers) || seq < 1 {
		return 0, 0, 0, false
	}
	return ts, int(w64), seq, true
}

// dialSubscribers opens -subs sessions, with -sub-serializers in turn
// when given.
func (r *run) dialSubscribers(ctx context.Context) ([]*client.Session, error) {
	sers := r.cfg.SubSerializers
	if len(sers) == 0 {
		return r.dialAll(ctx, r.cfg.Subscribers, nil)
	}
	var out []*client.Session
	for i, ser := range sers {
		n := r.cfg.Subscribers / len(sers)
		if i < r.cfg.Subscribers%len(sers) {
			n++
		}
		if n == 0 {
			continue
		}
		ss, err := r.dialAll(ctx, n, func(c *client.Config) { c.Serializer = ser })
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, ss...)
	}
	return out, nil
}
