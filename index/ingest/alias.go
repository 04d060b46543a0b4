package ingest

import (
	"context"
	"errors"
	"time"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/errs"
)

// AliasNamespace is the namespace that holds a store's aliases, one record
// per alias: its ID is the alias's name, its metadata names the target
// ([AliasKeyNamespace], …) and its vector is a unit vector of the
// namespace's dimension (stores with one dimension need it; cosine refuses
// zero vectors). It shows up in a store's namespace list; leave it alone.
//
// Aliases are kept as records, not with a store's own alias feature, so
// that every VectorStore reads them the same way: switching one is one
// Upsert of one record, which every store applies whole. (Milvus has
// native collection aliases, but backends/milvus keeps all Shoal
// namespaces as partition-key values inside one collection, so a
// collection alias cannot name one Shoal namespace.)
const AliasNamespace = "_shoal_aliases"

// Metadata keys of an alias record in [AliasNamespace].
const (
	AliasKeyNamespace = "namespace" // the target namespace
	AliasKeyModel     = "model"     // the target's model (its records' KeyModel), if known
	AliasKeyPrevious  = "previous"  // the namespace the alias named before, if any
	AliasKeyUpdated   = "updated"   // when it was set, Unix seconds
)

// ErrAlias reports an alias that cannot be set or used: a name that is
// reserved, a target that is itself an alias or holds no records, a
// namespace that another alias still names.
var ErrAlias = errors.New("ingest: unusable alias")

// Alias is a name that readers resolve to a namespace ([Resolve]).
type Alias struct {
	Name      string
	Namespace string // what Name resolves to
	Model     string // the target's model, "" if unknown
	Previous  string // the namespace Name named before, "" if none
	Updated   time.Time
}

// Resolve returns the namespace that name stands for: the target of the
// alias name, or name itself when it is not an alias. So readers can
// always resolve before search.New or feedback.NewSession, and keep
// working on a plain namespace. It costs one Fetch; resolve once per
// session, not per query (a reader that resolved before a switch keeps
// reading the old namespace, which stays complete until it is deleted).
func Resolve(ctx context.Context, store index.VectorStore, name string) (string, error) {
	a, ok, err := LookupAlias(ctx, store, name)
	if err != nil || !ok {
		return name, err
	}
	return a.Namespace, nil
}

// LookupAlias returns the alias name and true, or false when name is not an
// alias (the empty name, the default namespace, never is).
func LookupAlias(ctx context.Context, store index.VectorStore, name string) (Alias, bool, error) {
	switch {
	case ctx == nil:
		return Alias{}, false, invalid("nil context")
	case store == nil:
		return Alias{}, false, invalid("nil store")
	case name == "" || name == AliasNamespace || driver.ValidateID(name) != nil:
		return Alias{}, false, nil
	}
	r, ok, err := fetchAlias(ctx, store, name)
	if err != nil || !ok {
		return Alias{}, false, err
	}
	return aliasOf(r), true, nil
}

func fetchAlias(ctx context.Context, store index.VectorStore, name string) (index.Record, bool, error) {
	recs, _, err := batch.Call(ctx, nil, batch.Policy{}, 1, func(ctx context.Context) ([]index.Record, error) {
		return store.Fetch(ctx, AliasNamespace, []string{name})
	})
	if err != nil {
		return index.Record{}, false, errs.Errorf("ingest", nil, "reading alias %q: %w", name, err)
	}
	for _, r := range recs {
		if ns, ok := r.Metadata.String(AliasKeyNamespace); ok && r.ID == name && ns != "" {
			return r, true, nil
		}
	}
	return index.Record{}, false, nil
}

func aliasOf(r index.Record) Alias {
	a := Alias{Name: r.ID}
	a.Namespace, _ = r.Metadata.String(AliasKeyNamespace)
	a.Model, _ = r.Metadata.String(AliasKeyModel)
	a.Previous, _ = r.Metadata.String(AliasKeyPrevious)
	if u, ok := r.Metadata.Number(AliasKeyUpdated); ok {
		a.Updated = time.Unix(int64(u), 0)
	}
	return a
}

// SetAlias points the alias name at namespace, in one Upsert of one record
// (atomic on every store), and remembers what it named before in
// Alias.Previous. The namespace must hold records (an alias names
// something searchable) and must not be an alias itself (no chains); name
// must be a valid record ID, not [AliasNamespace] and not namespace.
// The alias record takes the dimension of the existing aliases, or else
// of namespace's vectors, and the model of namespace's records (KeyModel).
func SetAlias(ctx context.Context, store index.VectorStore, name, namespace string) error {
	if err := checkAliasArgs(ctx, store, name, namespace); err != nil {
		return err
	}
	cur, had, err := fetchAlias(ctx, store, name)
	if err != nil {
		return err
	}
	prev := ""
	if had {
		a := aliasOf(cur)
		prev = a.Previous
		if a.Namespace != namespace {
			prev = a.Namespace
		}
	}
	return setAlias(ctx, store, name, namespace, prev, batch.Policy{})
}

func checkAliasArgs(ctx context.Context, store index.VectorStore, name, namespace string) error {
	switch {
	case ctx == nil:
		return invalid("nil context")
	case store == nil:
		return invalid("nil store")
	}
	if err := driver.ValidateID(name); err != nil {
		return errs.Errorf("ingest", ErrAlias, "alias name: %w", err)
	}
	if err := driver.ValidateNamespace(namespace); err != nil {
		return errs.Errorf("ingest", ErrAlias, "alias %q: %w", name, err)
	}
	switch {
	case name == AliasNamespace || namespace == AliasNamespace:
		return errs.Errorf("ingest", ErrAlias, "alias %q → %q: %q is reserved for aliases", name, namespace, AliasNamespace)
	case name == namespace:
		return errs.Errorf("ingest", ErrAlias, "alias %q cannot name itself", name)
	}
	return nil
}

// setAlias writes the alias record; prev is stored as Alias.Previous.
func setAlias(ctx context.Context, store index.VectorStore, name, namespace, prev string, p batch.Policy) error {
	if _, isAlias, err := fetchAlias(ctx, store, namespace); err != nil {
		return err
	} else if isAlias {
		return errs.Errorf("ingest", ErrAlias, "alias %q → %q: %q is itself an alias (no chains)", name, namespace, namespace)
	}
	target, ok, err := firstRecord(ctx, store, namespace)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Errorf("ingest", ErrAlias, "alias %q → %q: namespace %q holds no records", name, namespace, namespace)
	}
	dim := len(target.Vector)
	if r, ok, err := firstRecord(ctx, store, AliasNamespace); err != nil {
		return err
	} else if ok {
		dim = len(r.Vector) // the alias namespace's dimension, where stores keep one per namespace
	}
	if dim < 1 {
		return errs.Errorf("ingest", ErrAlias, "alias %q → %q: record %q has no vector", name, namespace, target.ID)
	}
	vec := make([]float32, dim)
	vec[0] = 1
	md := index.Metadata{AliasKeyNamespace: namespace, AliasKeyUpdated: time.Now().Unix()}
	if m, ok := target.Metadata.String(KeyModel); ok && m != "" {
		md[AliasKeyModel] = m
	}
	if prev != "" && prev != namespace {
		md[AliasKeyPrevious] = prev
	}
	_, _, err = batch.Call(ctx, nil, p, 1, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, store.Upsert(ctx, AliasNamespace, []index.Record{{ID: name, Vector: vec, Metadata: md}})
	})
	if err != nil {
		return errs.Errorf("ingest", nil, "setting alias %q → %q: %w", name, namespace, err)
	}
	return nil
}

// firstRecord reads one record of ns, if it has any.
func firstRecord(ctx context.Context, store index.VectorStore, ns string) (index.Record, bool, error) {
	scanCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for r, err := range store.Scan(scanCtx, ns, index.Filter{}) {
		if err != nil {
			return index.Record{}, false, errs.Errorf("ingest", nil, "reading namespace %q: %w", ns, err)
		}
		return r, true, nil
	}
	return index.Record{}, false, nil
}

// DeleteAlias removes the alias name (nothing when it is none); the
// namespace it named is left as it is. Readers then resolve name to the
// namespace called name.
func DeleteAlias(ctx context.Context, store index.VectorStore, name string) error {
	switch {
	case ctx == nil:
		return invalid("nil context")
	case store == nil:
		return invalid("nil store")
	}
	if err := driver.ValidateID(name); err != nil {
		return errs.Errorf("ingest", ErrAlias, "alias name: %w", err)
	}
	_, _, err := batch.Call(ctx, nil, batch.Policy{}, 1, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, store.Delete(ctx, AliasNamespace, []string{name})
	})
	if err != nil {
		return errs.Errorf("ingest", nil, "deleting alias %q: %w", name, err)
	}
	return nil
}

// aliasesNaming returns the aliases whose target is ns.
func aliasesNaming(ctx context.Context, store index.VectorStore, ns string) ([]string, error) {
	var names []string
	for r, err := range store.Scan(ctx, AliasNamespace, index.Eq(AliasKeyNamespace, ns)) {
		if err != nil {
			return nil, errs.Errorf("ingest", nil, "reading aliases: %w", err)
		}
		names = append(names, r.ID)
	}
	return names, nil
}
