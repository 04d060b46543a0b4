package ingest

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/errs"
)

// ErrVerify reports a migration whose new namespace does not hold the
// source exactly (items failed, or the record count differs): the alias
// was not switched.
var ErrVerify = errors.New("ingest: migration check failed")

// MigrateSummary reports what [Migrate] did.
type MigrateSummary struct {
	// From is the namespace the alias named before (the alias's name itself
	// when it was none); To is the new one.
	From, To string
	// Run is the summary of the run into To.
	Run Summary
	// SourceIDs counts the distinct IDs the source yielded; Count the
	// records in To after the run (equal when the check passed).
	SourceIDs, Count int
	// Switched is true once the alias names To.
	Switched bool
	// Deleted counts the records removed from From ([WithDeleteOld]).
	Deleted int
}

// WithDeleteOld makes [Migrate] delete the old namespace's records once the
// alias names the new one (default: off; the old namespace stays, so
// SetAlias can switch back). Readers that resolved the alias before the
// switch keep reading the old namespace: delete only when they have
// resolved again. Migrate refuses while another alias still names it.
// Run refuses this option.
func WithDeleteOld() Option {
	return func(c *config) error {
		c.deleteOld = true
		if c.migrateOnly == "" {
			c.migrateOnly = "WithDeleteOld"
		}
		return nil
	}
}

// WithNewNamespace sets the namespace [Migrate] writes (default: the new
// encoder's Info().Namespace()). Run refuses this option.
func WithNewNamespace(ns string) Option {
	return func(c *config) error {
		if err := driver.ValidateNamespace(ns); err != nil || ns == AliasNamespace {
			return invalid("WithNewNamespace(%q): want a valid namespace other than %q", ns, AliasNamespace)
		}
		c.newNamespace = ns
		if c.migrateOnly == "" {
			c.migrateOnly = "WithNewNamespace"
		}
		return nil
	}
}

// Migrate re-embeds a pool with a new model and switches the readers of
// alias over to it, in four steps, each safe to repeat:
//
//  1. Run the source through enc into the new namespace (see
//     [WithNewNamespace]) while readers keep resolving alias to the old
//     one (its target, or the namespace called alias when it is not an
//     alias yet, the way to adopt aliases for an existing namespace).
//  2. Check the new namespace: no dead letters, and exactly as many
//     records as the source has distinct IDs; otherwise return
//     [ErrVerify] and leave the alias alone.
//  3. Switch: point alias at the new namespace with one Upsert of one
//     record ([SetAlias]), remembering the old one as Alias.Previous.
//  4. With [WithDeleteOld], delete the old namespace's records.
//
// The source is the whole pool (the same items the old namespace was
// built from; the store keeps vectors, not content). Migrate keeps one
// entry per source ID in memory for the check. Other options are Run's.
//
// # Crashes
//
// Stopped at any point (an error, a cancelled context, SIGKILL), the store
// is consistent and searchable: until step 3 lands, alias resolves to the
// old namespace, which Migrate has not touched; from then on it resolves
// to the new one, which passed step 2. Step 3 is one record's upsert, so
// readers see the old target or the new, never a mix. Running Migrate
// again with the same arguments converges: step 1 resumes as Run does
// (an already complete namespace costs one Fetch per batch and no
// encoding), an alias that already names the new namespace is kept, and
// step 4 finds the old namespace in Alias.Previous and deletes what is
// left of it.
//
// Writers that go on writing into the old namespace during a migration
// are not copied: pause them, or run Migrate again (an incremental sync)
// before they switch to the new namespace.
func Migrate(ctx context.Context, enc embedding.Encoder, store index.VectorStore, alias string, source iter.Seq2[embedding.Input, error], opts ...Option) (MigrateSummary, error) {
	start := time.Now()
	var sum MigrateSummary
	cfg, err := newConfig(opts)
	switch {
	case err != nil:
		return sum, err
	case ctx == nil:
		return sum, invalid("nil context")
	case enc == nil:
		return sum, invalid("nil encoder")
	case store == nil:
		return sum, invalid("nil store")
	case source == nil:
		return sum, invalid("nil source")
	}
	to := cfg.newNamespace
	if to == "" {
		to = enc.Info().Namespace()
	}
	if err := checkAliasArgs(ctx, store, alias, to); err != nil {
		if errors.Is(err, ErrAlias) && alias == to {
			return sum, errs.Errorf("ingest", ErrAlias, "alias %q is also the new namespace's name: pick another with WithNewNamespace", alias)
		}
		return sum, err
	}
	sum.To = to
	if _, isAlias, err := fetchAlias(ctx, store, to); err != nil {
		return sum, err
	} else if isAlias {
		return sum, errs.Errorf("ingest", ErrAlias, "new namespace %q is the name of an alias: pick another with WithNewNamespace", to)
	}
	cur, had, err := LookupAlias(ctx, store, alias)
	if err != nil {
		return sum, err
	}
	from, prev := alias, alias
	if had {
		from, prev = cur.Namespace, cur.Namespace
		if cur.Namespace == to { // switched by an earlier call
			prev = cur.Previous
		}
	}
	sum.From = from
	policy := batch.Policy{MaxAttempts: cfg.attempts, BaseDelay: cfg.baseDelay, MaxDelay: cfg.maxDelay}

	// 1. Run into the new namespace, counting the source's distinct IDs.
	ids := map[string]struct{}{}
	counted := func(yield func(embedding.Input, error) bool) {
		for in, err := range source {
			if in.ID != "" {
				ids[in.ID] = struct{}{}
			}
			if !yield(in, err) {
				return
			}
		}
	}
	sum.Run, err = run(ctx, enc, store, to, counted, cfg, start)
	sum.SourceIDs = len(ids)
	if err != nil {
		return sum, err
	}

	// 2. Check.
	if sum.Run.Failed > 0 {
		dl := sum.Run.DeadLetters[0]
		return sum, errs.Errorf("ingest", ErrVerify, "%d items failed (first %q at %s: %v); alias %q still names %q",
			sum.Run.Failed, dl.ID, dl.Stage, dl.Err, alias, from)
	}
	sum.Count, err = countNamespace(ctx, store, to, policy)
	if err != nil {
		return sum, err
	}
	if sum.Count != sum.SourceIDs {
		hint := ""
		if sum.Count > sum.SourceIDs {
			hint = " (records of items no longer in the source? WithRemoveMissing deletes them)"
		}
		return sum, errs.Errorf("ingest", ErrVerify, "namespace %q holds %d records, the source %d distinct IDs%s; alias %q still names %q",
			to, sum.Count, sum.SourceIDs, hint, alias, from)
	}

	// 3. Switch.
	if !had || cur.Namespace != to {
		if err := setAlias(ctx, store, alias, to, prev, policy); err != nil {
			return sum, err
		}
	}
	sum.Switched = true

	// 4. Delete the old namespace, on request.
	if cfg.deleteOld && prev != "" && prev != to {
		others, err := aliasesNaming(ctx, store, prev)
		if err != nil {
			return sum, err
		}
		if len(others) > 0 {
			return sum, errs.Errorf("ingest", ErrAlias, "not deleting namespace %q: alias %q still names it", prev, others[0])
		}
		sum.Deleted, err = deleteNamespace(ctx, store, prev, policy)
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func countNamespace(ctx context.Context, store index.VectorStore, ns string, p batch.Policy) (int, error) {
	n, _, err := batch.Call(ctx, nil, p, 1, func(ctx context.Context) (int, error) {
		return index.Count(ctx, store, ns)
	})
	if err != nil {
		return 0, errs.Errorf("ingest", nil, "counting namespace %q: %w", ns, err)
	}
	return n, nil
}

// deleteNamespace deletes every record of ns, 1000 IDs per call.
func deleteNamespace(ctx context.Context, store index.VectorStore, ns string, p batch.Policy) (int, error) {
	var ids []string
	for r, err := range store.Scan(ctx, ns, index.Filter{}) {
		if err != nil {
			return 0, errs.Errorf("ingest", nil, "reading namespace %q to delete it: %w", ns, err)
		}
		ids = append(ids, r.ID)
	}
	n := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 1000)]
		_, _, err := batch.Call(ctx, nil, p, len(chunk), func(ctx context.Context) (struct{}, error) {
			return struct{}{}, store.Delete(ctx, ns, chunk)
		})
		if err != nil {
			return n, errs.Errorf("ingest", nil, "deleting %d records of namespace %q: %w", len(chunk), ns, err)
		}
		n += len(chunk)
		ids = ids[len(chunk):]
	}
	return n, nil
}
