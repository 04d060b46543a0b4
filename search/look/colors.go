package look

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"github.com/shoalhq/shoal/index"
)

// categorical is the palette of category colours: Tableau's ten, then ten
// lighter or darker companions, in an order where neighbours differ in hue.
var categorical = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x39, 0x3b, 0x79, 0xff}, {0xae, 0xc7, 0xe8, 0xff}, {0xff, 0xbb, 0x78, 0xff},
	{0x98, 0xdf, 0x8a, 0xff}, {0xff, 0x98, 0x96, 0xff}, {0xc5, 0xb0, 0xd5, 0xff}, {0xc4, 0x9c, 0x94, 0xff},
	{0xf7, 0xb6, 0xd2, 0xff}, {0xdb, 0xdb, 0x8d, 0xff}, {0x9e, 0xda, 0xe5, 0xff}, {0x63, 0x79, 0x39, 0xff},
}

// otherColor paints the categories beyond the palette and missing values.
var otherColor = color.RGBA{0xb0, 0xb0, 0xb0, 0xff}

// viridis samples of the continuous scale, from low to high.
var viridis = []color.RGBA{
	{0x44, 0x01, 0x54, 0xff}, {0x48, 0x28, 0x78, 0xff}, {0x3e, 0x4a, 0x89, 0xff}, {0x31, 0x68, 0x8e, 0xff},
	{0x26, 0x82, 0x8e, 0xff}, {0x1f, 0x9e, 0x89, 0xff}, {0x35, 0xb7, 0x79, 0xff}, {0x6d, 0xcd, 0x59, 0xff},
	{0xb4, 0xde, 0x2c, 0xff}, {0xfd, 0xe7, 0x25, 0xff},
}

// maxCategories is the number of categories coloured individually; the
// rest share otherColor.
const maxCategories = 20

// group is the points of one colour.
type group struct {
	Name   string
	Color  color.RGBA
	Points []int
}

// numericField reports whether every present value of field is a number
// and there are more distinct values than categories can show.
func numericField(pts []Point, field string) bool {
	seen := map[float64]bool{}
	any := false
	for _, p := range pts {
		v, ok := p.Metadata[field]
		if !ok {
			continue
		}
		f, isNum := index.Metadata{"v": v}.Number("v")
		if !isNum {
			return false
		}
		any = true
		if len(seen) <= maxCategories {
			seen[f] = true
		}
	}
	return any && len(seen) > maxCategories
}

// valueText spells a metadata value for legends and tooltips.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64)
	}
	return fmt.Sprint(v)
}

// groupsFor splits the points by the value of field: categories by count
// (the largest first, beyond 20 "other"), or, for a numeric field, eight
// quantile bins on the viridis scale. An empty field gives one group.
func groupsFor(pts []Point, field string) []group {
	if field == "" {
		all := make([]int, len(pts))
		for i := range all {
			all[i] = i
		}
		return []group{{Name: "all", Color: categorical[0], Points: all}}
	}
	if numericField(pts, field) {
		return numericGroups(pts, field, 8)
	}
	byName := map[string][]int{}
	for i, p := range pts {
		name := "(none)"
		if v, ok := p.Metadata[field]; ok {
			name = valueText(v)
		}
		byName[name] = append(byName[name], i)
	}
	var gs []group
	for name, idx := range byName {
		gs = append(gs, group{Name: name, Points: idx})
	}
	slices.SortFunc(gs, func(a, b group) int {
		if (a.Name == "(none)") != (b.Name == "(none)") {
			if a.Name == "(none)" {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(len(b.Points), len(a.Points)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	var missing []group
	if last := len(gs) - 1; last >= 0 && gs[last].Name == "(none)" {
		gs, missing = gs[:last], gs[last:]
	}
	if len(gs) > maxCategories-1 {
		other := group{Name: fmt.Sprintf("%d others", len(gs)-maxCategories+1), Color: otherColor}
		for _, g := range gs[maxCategories-1:] {
			other.Points = append(other.Points, g.Points...)
		}
		slices.Sort(other.Points)
		gs = append(gs[:maxCategories-1], other)
	}
	gs = append(gs, missing...)
	// Colours follow the sorted names so a class keeps its colour when
	// counts change.
	names := make([]string, 0, len(gs))
	for _, g := range gs {
		if g.Color == (color.RGBA{}) && g.Name != "(none)" {
			names = append(names, g.Name)
		}
	}
	slices.Sort(names)
	for i := range gs {
		if gs[i].Name == "(none)" {
			gs[i].Color = otherColor
		} else if gs[i].Color == (color.RGBA{}) {
			gs[i].Color = categorical[slices.Index(names, gs[i].Name)%len(categorical)]
		}
	}
	return gs
}

func numericGroups(pts []Point, field string, bins int) []group {
	var vals []float64
	for _, p := range pts {
		if f, ok := p.Metadata.Number(field); ok && !math.IsNaN(f) {
			vals = append(vals, f)
		}
	}
	slices.Sort(vals)
	edges := make([]float64, bins+1)
	for b := range edges {
		edges[b] = vals[min(len(vals)-1, b*(len(vals)-1)/bins)]
	}
	gs := make([]group, bins)
	for b := range gs {
		gs[b].Name = fmt.Sprintf("%s … %s", strconv.FormatFloat(edges[b], 'g', 4, 64), strconv.FormatFloat(edges[b+1], 'g', 4, 64))
		gs[b].Color = viridis[b*(len(viridis)-1)/max(1, bins-1)]
	}
	var none []int
	for i, p := range pts {
		f, ok := p.Metadata.Number(field)
		if !ok {
			none = append(none, i)
			continue
		}
		b, _ := slices.BinarySearch(edges[1:bins], f)
		gs[b].Points = append(gs[b].Points, i)
	}
	out := gs[:0]
	for _, g := range gs {
		if len(g.Points) > 0 {
			out = append(out, g)
		}
	}
	if len(none) > 0 {
		out = append(out, group{Name: "(none)", Color: otherColor, Points: none})
	}
	return out
}
