package look

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
)

// htmlPoint is one point as the page's script reads it.
type htmlPoint struct {
	ID    string         `json:"id"`
	X     float64        `json:"x"`
	Y     float64        `json:"y"`
	Meta  map[string]any `json:"m,omitempty"`
	Thumb string         `json:"t,omitempty"`
	Mark  bool           `json:"h,omitempty"`
}

type htmlData struct {
	Title   string      `json:"title"`
	XLabel  string      `json:"xlabel"`
	YLabel  string      `json:"ylabel"`
	Fields  []string    `json:"fields"`
	ColorBy string      `json:"colorBy"`
	Label   string      `json:"label"`
	Palette []string    `json:"palette"`
	Other   string      `json:"other"`
	Scale   []string    `json:"scale"`
	Points  []htmlPoint `json:"points"`
}

func hex(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8)
}

// WriteHTML writes the map as one self-contained HTML page (inline script
// and canvas, no external resources): axes with ticks, a legend, a
// selector to colour the points by any metadata field, a continuous colour
// scale for numeric fields, and a tooltip on hover with the point's ID,
// label, metadata and thumbnail ([WithThumbnails]). Drag to zoom, double-click
// to reset.
func (m *Map) WriteHTML(w io.Writer, opts ...PlotOption) error {
	c, err := newPlotConfig(m, true, opts)
	if err != nil {
		return err
	}
	d := htmlData{Title: c.title, ColorBy: c.colorBy, Label: c.labelField, Other: hex(otherColor)}
	d.XLabel, d.YLabel = m.axisLabels()
	for _, col := range categorical {
		d.Palette = append(d.Palette, hex(col))
	}
	for _, col := range viridis {
		d.Scale = append(d.Scale, hex(col))
	}
	fields := map[string]bool{}
	d.Points = make([]htmlPoint, len(m.Points))
	for i, p := range m.Points {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) {
			return errorf(nil, "point %q has no coordinates", p.ID)
		}
		hp := htmlPoint{ID: p.ID, X: round6(p.X), Y: round6(p.Y), Mark: c.highlight[p.ID]}
		if len(p.Metadata) > 0 {
			hp.Meta = make(map[string]any, len(p.Metadata))
			for k, v := range p.Metadata {
				fields[k] = true
				switch x := v.(type) {
				case float64:
					if math.IsNaN(x) || math.IsInf(x, 0) {
						hp.Meta[k] = valueText(x)
						continue
					}
				case []string:
					hp.Meta[k] = strings.Join(x, ", ")
					continue
				}
				hp.Meta[k] = v
			}
		}
		if c.thumbnails != nil {
			t := c.thumbnails(p.ID)
			if t != "" && !strings.HasPrefix(t, "data:image/") {
				return errorf(ErrInvalidOption, "WithThumbnails: the thumbnail of %q is not a data:image/ URI", p.ID)
			}
			hp.Thumb = t
		}
		d.Points[i] = hp
	}
	for f := range fields {
		d.Fields = append(d.Fields, f)
	}
	slices.Sort(d.Fields)
	data, err := json.Marshal(d) // escapes <, > and &, so it cannot close the script
	if err != nil {
		return errorf(nil, "encoding the map: %w", err)
	}
	_, err = io.WriteString(w, strings.Replace(strings.Replace(htmlPage, "{{TITLE}}", html.EscapeString(c.title), 1), "{{DATA}}", string(data), 1))
	return err
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

const htmlPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{{TITLE}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#fff;overflow:hidden}
header{padding:10px 16px;border-bottom:1px solid #ddd;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
h1{font-size:17px;margin:0}
main{display:flex}
#wrap{position:relative;flex:1}
canvas{display:block}
#legend{width:240px;padding:10px 12px;border-left:1px solid #ddd;overflow:auto;font-size:13px}
#legend div{display:flex;align-items:center;gap:6px;margin:2px 0;cursor:pointer}
#legend span.sw{width:12px;height:12px;border-radius:50%;flex:none}
#legend .off{opacity:.35}
#tip{position:absolute;pointer-events:none;background:#fff;border:1px solid #999;border-radius:4px;padding:6px 8px;box-shadow:0 2px 6px rgba(0,0,0,.25);display:none;max-width:320px;font-size:12px}
#tip img{display:block;width:112px;height:112px;image-rendering:pixelated;margin-top:4px;border:1px solid #ccc}
#tip b{font-size:13px}
.hint{color:#777;font-size:12px}
</style></head><body>
<header><h1 id="title"></h1>
<label>colour by <select id="field"></select></label>
<span class="hint">hover a point for details · drag to zoom · double-click to reset · click a legend entry to hide it</span></header>
<main><div id="wrap"><canvas id="plot"></canvas><div id="tip"></div></div><div id="legend"></div></main>
<script type="application/json" id="data">{{DATA}}</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const P = D.points;
const cv = document.getElementById("plot"), ctx = cv.getContext("2d");
const tip = document.getElementById("tip"), legend = document.getElementById("legend");
const sel = document.getElementById("field");
document.getElementById("title").textContent = D.title;
const none = "(none)";
let field = D.colorBy, colours = [], hidden = new Set(), view = null, drag = null, order = [];
let W = 0, H = 0;
const M = {l: 70, r: 20, t: 16, b: 56};
function opt(v, t) { const o = document.createElement("option"); o.value = v; o.textContent = t; return o; }
sel.appendChild(opt("", "(nothing)"));
for (const f of D.fields) sel.appendChild(opt(f, f));
sel.value = field;
sel.onchange = () => { field = sel.value; hidden.clear(); colourise(); draw(); };
function text(v) { return v === undefined || v === null ? none : Array.isArray(v) ? v.join(", ") : String(v); }
function extent() {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of P) { x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y); }
  const px = (x1 - x0) * 0.04 || 1, py = (y1 - y0) * 0.04 || 1;
  return {x0: x0 - px, x1: x1 + px, y0: y0 - py, y1: y1 + py};
}
let home = extent(); view = home;
function sx(x) { return M.l + (x - view.x0) / (view.x1 - view.x0) * (W - M.l - M.r); }
function sy(y) { return H - M.b - (y - view.y0) / (view.y1 - view.y0) * (H - M.t - M.b); }
function ix(px) { return view.x0 + (px - M.l) / (W - M.l - M.r) * (view.x1 - view.x0); }
function iy(py) { return view.y0 + (H - M.b - py) / (H - M.t - M.b) * (view.y1 - view.y0); }
function lerpColour(t) {
  const s = D.scale, f = Math.max(0, Math.min(1, t)) * (s.length - 1), i = Math.min(s.length - 2, Math.floor(f)), u = f - i;
  const a = parseInt(s[i].slice(1), 16), b = parseInt(s[i + 1].slice(1), 16);
  const c = [16, 8, 0].map(k => Math.round(((a >> k) & 255) * (1 - u) + ((b >> k) & 255) * u));
  return "rgb(" + c.join(",") + ")";
}
let groups = [], numeric = null;
function colourise() {
  legend.textContent = "";
  const head = document.createElement("p"); head.style.margin = "0 0 6px"; head.style.fontWeight = "600";
  head.textContent = field ? "colour: " + field : "all points"; legend.appendChild(head);
  numeric = null; groups = [];
  if (!field) { colours = P.map(() => D.palette[0]); order = P.map((_, i) => i); return; }
  const vals = P.map(p => p.m ? p.m[field] : undefined);
  const nums = vals.filter(v => typeof v === "number");
  const distinct = new Set(vals.map(text));
  if (nums.length > 0 && nums.length === vals.filter(v => v !== undefined).length && distinct.size > 20) {
    const lo = Math.min(...nums), hi = Math.max(...nums);
    numeric = {lo, hi};
    colours = vals.map(v => typeof v === "number" ? lerpColour(hi > lo ? (v - lo) / (hi - lo) : 0.5) : D.other);
    order = P.map((_, i) => i);
    const bar = document.createElement("canvas"); bar.width = 200; bar.height = 14;
    const bc = bar.getContext("2d");
    for (let x = 0; x < 200; x++) { bc.fillStyle = lerpColour(x / 199); bc.fillRect(x, 0, 1, 14); }
    legend.appendChild(bar);
    const lab = document.createElement("div"); lab.style.justifyContent = "space-between"; lab.style.width = "200px";
    const a = document.createElement("span"); a.textContent = +lo.toPrecision(4);
    const b = document.createElement("span"); b.textContent = +hi.toPrecision(4);
    lab.append(a, b); legend.appendChild(lab);
    return;
  }
  const count = new Map();
  for (const v of vals) { const t = text(v); count.set(t, (count.get(t) || 0) + 1); }
  let names = [...count.keys()].sort((a, b) => (a === none) - (b === none) || count.get(b) - count.get(a) || (a < b ? -1 : 1));
  const shown = names.filter(n => n !== none).slice(0, 19);
  const byName = [...shown].sort();
  const colourOf = new Map(byName.map(n => [n, D.palette[byName.indexOf(n) % D.palette.length]]));
  const otherN = names.filter(n => n !== none && !colourOf.has(n));
  colours = vals.map(v => colourOf.get(text(v)) || D.other);
  groups = shown.map(n => ({name: n, colour: colourOf.get(n), count: count.get(n)}));
  if (otherN.length) groups.push({name: otherN.length + " others", colour: D.other, count: otherN.reduce((s, n) => s + count.get(n), 0), other: true});
  if (count.has(none)) groups.push({name: none, colour: D.other, count: count.get(none), none: true});
  const key = v => { const t = text(v); return colourOf.has(t) ? t : t === none ? none : "\u0000other"; };
  const size = new Map(); for (const v of vals) { const k = key(v); size.set(k, (size.get(k) || 0) + 1); }
  order = P.map((_, i) => i).sort((a, b) => size.get(key(vals[b])) - size.get(key(vals[a])) || a - b);
  for (const g of groups) {
    const row = document.createElement("div");
    const sw = document.createElement("span"); sw.className = "sw"; sw.style.background = g.colour;
    const lab = document.createElement("span"); lab.textContent = g.name + " (" + g.count + ")";
    row.append(sw, lab);
    row.onclick = () => { const k = g.other ? "\u0000other" : g.name; hidden.has(k) ? hidden.delete(k) : hidden.add(k); row.classList.toggle("off"); draw(); };
    legend.appendChild(row);
  }
  groups.key = key; groups.vals = vals;
}
function visible(i) {
  if (!groups.key || hidden.size === 0) return true;
  return !hidden.has(groups.key(groups.vals[i]));
}
function ticks(a, b, n) {
  const span = b - a, step0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => span / s <= n) || 10 * mag;
  const out = []; for (let i = Math.ceil(a / step); i * step <= b + 1e-9 * span; i++) out.push(+(i * step).toPrecision(12));
  return out;
}
function draw() {
  const dpr = window.devicePixelRatio || 1;
  W = cv.parentElement.clientWidth; H = Math.max(420, window.innerHeight - document.querySelector("header").offsetHeight - 4);
  cv.width = W * dpr; cv.height = H * dpr; cv.style.width = W + "px"; cv.style.height = H + "px";
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  ctx.strokeStyle = "#eee"; ctx.fillStyle = "#444"; ctx.font = "12px system-ui,sans-serif"; ctx.lineWidth = 1;
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of ticks(view.x0, view.x1, 8)) { const x = sx(t); ctx.beginPath(); ctx.moveTo(x, M.t); ctx.lineTo(x, H - M.b); ctx.stroke(); ctx.fillText(t, x, H - M.b + 6); }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(view.y0, view.y1, 8)) { const y = sy(t); ctx.beginPath(); ctx.moveTo(M.l, y); ctx.lineTo(W - M.r, y); ctx.stroke(); ctx.fillText(t, M.l - 6, y); }
  ctx.strokeStyle = "#888"; ctx.strokeRect(M.l, M.t, W - M.l - M.r, H - M.t - M.b);
  ctx.textAlign = "center"; ctx.textBaseline = "bottom"; ctx.fillStyle = "#222"; ctx.font = "13px system-ui,sans-serif";
  ctx.fillText(D.xlabel, M.l + (W - M.l - M.r) / 2, H - 8);
  ctx.save(); ctx.translate(16, M.t + (H - M.t - M.b) / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "middle"; ctx.fillText(D.ylabel, 0, 0); ctx.restore();
  ctx.save(); ctx.beginPath(); ctx.rect(M.l, M.t, W - M.l - M.r, H - M.t - M.b); ctx.clip();
  const r = P.length > 20000 ? 1.6 : P.length > 5000 ? 2.2 : 3.2;
  ctx.globalAlpha = 0.8;
  for (const i of order) {
    if (!visible(i)) continue;
    const p = P[i]; ctx.fillStyle = colours[i]; ctx.beginPath(); ctx.arc(sx(p.x), sy(p.y), r, 0, 2 * Math.PI); ctx.fill();
  }
  ctx.globalAlpha = 1; ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
  for (const p of P) if (p.h) { ctx.beginPath(); ctx.arc(sx(p.x), sy(p.y), r * 3, 0, 2 * Math.PI); ctx.stroke(); }
  if (drag && drag.x1 !== undefined) { ctx.strokeStyle = "#333"; ctx.setLineDash([4, 3]); ctx.strokeRect(drag.x0, drag.y0, drag.x1 - drag.x0, drag.y1 - drag.y0); ctx.setLineDash([]); }
  ctx.restore();
}
function nearest(mx, my) {
  let best = -1, bd = 64;
  for (let i = 0; i < P.length; i++) {
    if (!visible(i)) continue;
    const dx = sx(P[i].x) - mx, dy = sy(P[i].y) - my, d = dx * dx + dy * dy;
    if (d < bd) { bd = d; best = i; }
  }
  return best;
}
function showTip(i, mx, my) {
  if (i < 0) { tip.style.display = "none"; return; }
  const p = P[i]; tip.textContent = "";
  const b = document.createElement("b"); b.textContent = p.id; tip.appendChild(b);
  const m = p.m || {};
  const lines = [];
  if (D.label in m) lines.push(D.label + ": " + text(m[D.label]));
  for (const k of Object.keys(m).sort()) if (k !== D.label) lines.push(k + ": " + text(m[k]));
  for (const l of lines.slice(0, 12)) { const d = document.createElement("div"); d.textContent = l; tip.appendChild(d); }
  if (p.t) { const im = document.createElement("img"); im.src = p.t; im.alt = p.id; tip.appendChild(im); }
  tip.style.display = "block";
  const wrap = cv.parentElement.getBoundingClientRect();
  let x = mx + 14, y = my + 14;
  if (x + 330 > wrap.width) x = mx - 14 - tip.offsetWidth;
  if (y + tip.offsetHeight > H) y = my - 14 - tip.offsetHeight;
  tip.style.left = x + "px"; tip.style.top = y + "px";
}
cv.addEventListener("mousemove", e => {
  const mx = e.offsetX, my = e.offsetY;
  if (drag) { drag.x1 = mx; drag.y1 = my; draw(); return; }
  showTip(nearest(mx, my), mx, my);
});
cv.addEventListener("mouseleave", () => { tip.style.display = "none"; });
cv.addEventListener("mousedown", e => { drag = {x0: e.offsetX, y0: e.offsetY}; tip.style.display = "none"; });
window.addEventListener("mouseup", () => {
  if (drag && drag.x1 !== undefined && Math.abs(drag.x1 - drag.x0) > 5 && Math.abs(drag.y1 - drag.y0) > 5) {
    const a = ix(Math.min(drag.x0, drag.x1)), b = ix(Math.max(drag.x0, drag.x1)), c = iy(Math.max(drag.y0, drag.y1)), d = iy(Math.min(drag.y0, drag.y1));
    view = {x0: a, x1: b, y0: c, y1: d};
  }
  drag = null; draw();
});
cv.addEventListener("dblclick", () => { view = home; draw(); });
window.addEventListener("resize", draw);
colourise(); draw();
// #hover=ID shows that point's tooltip, for links and screenshots.
if (location.hash.startsWith("#hover=")) {
  const id = decodeURIComponent(location.hash.slice(7)), i = P.findIndex(p => p.id === id);
  if (i >= 0) showTip(i, sx(P[i].x), sy(P[i].y));
}
</script></body></html>
`
