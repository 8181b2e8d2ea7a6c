// A log-log line plot as a standalone SVG string, written from the data (no plotting dependency).
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#843c39'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmtTick(v) {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  if (v >= 1) return String(v);
  return String(+v.toPrecision(2));
}

export function logLogPlot({ title, xLabel, yLabel, series, width = 860, height = 520, guides = [] }) {
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0);
  const m = { l: 78, r: 250, t: 48, b: 62 };
  const W = width - m.l - m.r;
  const H = height - m.t - m.b;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${m.l + W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (!pts.length) {
    out.push(`<text x="${m.l + W / 2}" y="${m.t + H / 2}" text-anchor="middle">no data yet</text></svg>`);
    return out.join('\n');
  }
  const lx = pts.map(([x]) => Math.log10(x));
  const ly = pts.map(([, y]) => Math.log10(y));
  const x0 = Math.floor(Math.min(...lx)), x1 = Math.max(x0 + 1, Math.ceil(Math.max(...lx)));
  const y0 = Math.floor(Math.min(...ly)), y1 = Math.max(y0 + 1, Math.ceil(Math.max(...ly)));
  const X = (x) => m.l + ((Math.log10(x) - x0) / (x1 - x0)) * W;
  const Y = (y) => m.t + H - ((Math.log10(y) - y0) / (y1 - y0)) * H;
  // grid and ticks (decades, with 2 and 5 minor lines)
  for (let d = x0; d <= x1; d++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** d;
      if (Math.log10(v) > x1 + 1e-9) continue;
      out.push(`<line x1="${X(v)}" y1="${m.t}" x2="${X(v)}" y2="${m.t + H}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      if (k === 1) out.push(`<text x="${X(v)}" y="${m.t + H + 18}" text-anchor="middle">${fmtTick(v)}</text>`);
    }
  }
  for (let d = y0; d <= y1; d++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** d;
      if (Math.log10(v) > y1 + 1e-9) continue;
      out.push(`<line x1="${m.l}" y1="${Y(v)}" x2="${m.l + W}" y2="${Y(v)}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      if (k === 1) out.push(`<text x="${m.l - 8}" y="${Y(v) + 4}" text-anchor="end">${fmtTick(v)}</text>`);
    }
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W}" height="${H}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + W / 2}" y="${height - 18}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(20 ${m.t + H / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  // guides (e.g. targets): dashed horizontal lines or a slope-1 line through a point
  for (const g of guides) {
    if (g.y && g.y > 0 && Math.log10(g.y) >= y0 && Math.log10(g.y) <= y1) {
      out.push(`<line x1="${m.l}" y1="${Y(g.y)}" x2="${m.l + W}" y2="${Y(g.y)}" stroke="#999" stroke-dasharray="5 4"/>`);
      out.push(`<text x="${m.l + W - 4}" y="${Y(g.y) - 4}" text-anchor="end" fill="#666">${esc(g.label)}</text>`);
    }
  }
  let legendY = m.t + 8;
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const p = s.points.filter(([x, y]) => x > 0 && y > 0).sort((a, b) => a[0] - b[0]);
    if (!p.length) return;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${p.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of p) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(s.name)}: N=${x}, ${y.toFixed(2)} ms</title></circle>`);
    out.push(`<line x1="${m.l + W + 14}" y1="${legendY}" x2="${m.l + W + 38}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${m.l + W + 44}" y="${legendY + 4}">${esc(s.name)}</text>`);
    legendY += 20;
  });
  out.push(`<text x="${m.l + W + 14}" y="${legendY + 10}" fill="#666" font-size="11">slope 1 = linear in N</text>`);
  out.push('</svg>');
  return out.join('\n');
}
