package look

import (
	"fmt"
	"image/color"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotOption configures [Map.WritePNG] and [Map.WriteHTML]. Each option
// says which of the two reads it; passing it to the other is an error
// wrapping [ErrInvalidOption] that names the option and the call. A bad
// value is an error naming the option; a nil PlotOption is ignored.
type PlotOption func(*plotConfig) error

type plotConfig struct {
	html       bool // configuring WriteHTML, not WritePNG
	colorBy    string
	colorSet   bool
	title      string
	width      int
	height     int
	thumbnails func(id string) string
	labelField string
	highlight  map[string]bool
}

func newPlotConfig(m *Map, html bool, opts []PlotOption) (plotConfig, error) {
	c := plotConfig{html: html, width: 1200, height: 900, labelField: "label"}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if !c.colorSet {
		for _, p := range m.Points {
			if _, ok := p.Metadata[c.labelField]; ok {
				c.colorBy = c.labelField
				break
			}
		}
	}
	if c.title == "" {
		c.title = fmt.Sprintf("%d items, %s map", len(m.Points), m.Method)
		if m.Total > len(m.Points) {
			c.title = fmt.Sprintf("%d of %d items (a uniform sample), %s map", len(m.Points), m.Total, m.Method)
		}
	}
	return c, nil
}

// WithColorBy colours the points by a metadata field: one colour per value
// (the 19 most frequent values, the rest grey), or, for a numeric field
// with more than 20 values, eight quantile bins on a sequential scale (the
// HTML page uses a continuous scale). "" paints every point alike. Read by
// WritePNG and WriteHTML. Default: the label field ([WithLabelField]) when
// the points have it.
func WithColorBy(field string) PlotOption {
	return func(c *plotConfig) error { c.colorBy, c.colorSet = field, true; return nil }
}

// WithLabelField names the field shown as the label in the HTML page's
// tooltips and coloured by default. Read by WritePNG and WriteHTML.
// Default "label".
func WithLabelField(field string) PlotOption {
	return func(c *plotConfig) error { c.labelField = field; return nil }
}

// WithTitle sets the picture's title. Read by WritePNG and WriteHTML.
// Default: the number of points and the method.
func WithTitle(s string) PlotOption {
	return func(c *plotConfig) error { c.title = s; return nil }
}

// WithSize sets the picture's size in pixels, each side 200 to 10,000. Read
// by WritePNG and WriteHTML. Default 1200 × 900.
func WithSize(width, height int) PlotOption {
	return func(c *plotConfig) error {
		if width < 200 || height < 200 || width > 10000 || height > 10000 {
			return errorf(ErrInvalidOption, "WithSize: %d×%d out of range [200, 10000]", width, height)
		}
		c.width, c.height = width, height
		return nil
	}
}

// WithThumbnails gives the HTML page a thumbnail per point, shown on hover:
// thumb returns an image as a data: URI ("data:image/png;base64,…"), or ""
// for none. Other URIs are refused, so the page stays self-contained and
// cannot load anything from elsewhere. Read by WriteHTML only. Default:
// none.
func WithThumbnails(thumb func(id string) string) PlotOption {
	return func(c *plotConfig) error {
		if !c.html {
			return errorf(ErrInvalidOption, "WithThumbnails does not apply to Map.WritePNG")
		}
		c.thumbnails = thumb
		return nil
	}
}

// WithHighlight rings the given items (rare items, say). Several
// WithHighlight add up. Read by WritePNG and WriteHTML. Default: none.
func WithHighlight(ids ...string) PlotOption {
	return func(c *plotConfig) error {
		if c.highlight == nil {
			c.highlight = map[string]bool{}
		}
		for _, id := range ids {
			c.highlight[id] = true
		}
		return nil
	}
}

// axisLabels names the map's axes.
func (m *Map) axisLabels() (string, string) {
	if m.Method == PCA {
		return fmt.Sprintf("principal component 1 (%.1f%% of variance)", 100*m.Explained[0]),
			fmt.Sprintf("principal component 2 (%.1f%% of variance)", 100*m.Explained[1])
	}
	return "neighbourhood layout x", "neighbourhood layout y"
}

// WritePNG draws the map as a PNG scatter plot with gonum/plot: title,
// axes, a legend beside the plot with each colour's value and count.
// Larger groups are drawn first so that small ones stay visible.
func (m *Map) WritePNG(w io.Writer, opts ...PlotOption) error {
	c, err := newPlotConfig(m, false, opts)
	if err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = c.title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text, p.Y.Label.Text = m.axisLabels()
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend() // drawn beside the plot, not over it
	groups := groupsFor(m.Points, c.colorBy)
	radius := vg.Points(2.6)
	switch n := len(m.Points); {
	case n > 20000:
		radius = vg.Points(1.2)
	case n > 5000:
		radius = vg.Points(1.7)
	case n > 1000:
		radius = vg.Points(2.1)
	}
	order := make([]int, len(groups)) // draw the biggest first
	for i := range order {
		order[i] = i
	}
	for a := range order {
		for b := a + 1; b < len(order); b++ {
			if len(groups[order[b]].Points) > len(groups[order[a]].Points) {
				order[a], order[b] = order[b], order[a]
			}
		}
	}
	scatters := make([]*plotter.Scatter, len(groups))
	for _, gi := range order {
		g := groups[gi]
		xys := make(plotter.XYs, len(g.Points))
		for j, pi := range g.Points {
			xys[j] = plotter.XY{X: m.Points[pi].X, Y: m.Points[pi].Y}
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return fmt.Errorf("look: plotting %q: %w", g.Name, err)
		}
		col := color.NRGBA{g.Color.R, g.Color.G, g.Color.B, 0xd0}
		s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: radius, Shape: draw.CircleGlyph{}}
		p.Add(s)
		scatters[gi] = s
	}
	if len(c.highlight) > 0 {
		var xys plotter.XYs
		for _, pt := range m.Points {
			if c.highlight[pt.ID] {
				xys = append(xys, plotter.XY{X: pt.X, Y: pt.Y})
			}
		}
		if len(xys) > 0 {
			s, err := plotter.NewScatter(xys)
			if err != nil {
				return err
			}
			s.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: radius * 3, Shape: draw.RingGlyph{}}
			p.Add(s)
			leg.Add("highlighted", s)
		}
	}
	field := c.colorBy
	if field == "" {
		field = "all"
	}
	for gi, g := range groups {
		leg.Add(fmt.Sprintf("%s (%d)", truncate(g.Name, 28), len(g.Points)), legendGlyph{scatters[gi]})
	}
	leg.TextStyle.Font.Size = vg.Points(10)
	leg.Top, leg.Left = true, true

	wpt := vg.Length(c.width) * vg.Inch / vgimg.DefaultDPI
	hpt := vg.Length(c.height) * vg.Inch / vgimg.DefaultDPI
	img := vgimg.NewWith(vgimg.UseWH(wpt, hpt), vgimg.UseDPI(vgimg.DefaultDPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	legendW := vg.Points(190)
	p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	// The legend beside the plot, under the colouring field's name.
	side := draw.Crop(dc, dc.Max.X-dc.Min.X-legendW+vg.Points(10), 0, 0, -vg.Points(40))
	head := leg.TextStyle
	head.Font.Size = vg.Points(11)
	side.FillText(head, vg.Point{X: side.Min.X, Y: side.Max.Y + vg.Points(8)}, "colour: "+truncate(field, 24))
	leg.Draw(side)
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// legendGlyph draws a scatter's glyph larger in the legend.
type legendGlyph struct{ s *plotter.Scatter }

func (l legendGlyph) Thumbnail(c *draw.Canvas) {
	st := l.s.GlyphStyle
	st.Radius = vg.Points(4)
	st.Color = withAlpha(st.Color, 0xff)
	c.DrawGlyph(st, c.Center())
}

func withAlpha(c color.Color, a uint8) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
