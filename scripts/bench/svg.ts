/**
 * The ratio chart for docs/benchmarks.svg, written by hand (no chart library): one row per
 * comparison, a bar per workload, a line at 1.0x and a tick at the row's target.
 */

export interface ChartRow {
  label: string;
  /** Ratio per workload (undefined: not measured or failed). */
  values: { workload: string; ratio: number | undefined }[];
  target?: number;
}

const COLORS = { met: "#2e7d32", missed: "#c62828", none: "#607d8b" };
const WORKLOAD_OPACITY = [1, 0.55];

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function ratioChart(title: string, rows: ChartRow[], workloads: string[], footnote?: string): string {
  // Wide enough for the longest label (about 6.6 px a character at 12 px).
  const labelWidth = Math.max(200, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * 6.6) + 16);
  const plotWidth = 440;
  const barHeight = 11;
  const rowHeight = Math.max(24, workloads.length * (barHeight + 2) + 8);
  const top = 58;
  const height = top + rows.length * rowHeight + (footnote ? 58 : 40);
  const width = labelWidth + plotWidth + 70;
  const finite = rows.flatMap((r) => [...r.values.map((v) => v.ratio ?? 0), r.target ?? 0]);
  const max = Math.max(2, Math.ceil(Math.max(...finite) * 2) / 2);
  const x = (ratio: number) => labelWidth + (Math.min(ratio, max) / max) * plotWidth;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">${xml(title)}</text>`,
  ];
  // Legend: workloads (opacity) and colours (target met / missed / none).
  let lx = 12;
  workloads.forEach((w, i) => {
    out.push(
      `<rect x="${lx}" y="34" width="14" height="10" fill="${COLORS.none}" fill-opacity="${WORKLOAD_OPACITY[i] ?? 0.4}"/>`,
      `<text x="${lx + 18}" y="43">${xml(w)}</text>`,
    );
    lx += 30 + w.length * 7;
  });
  for (const [key, label] of [
    ["met", "target met"],
    ["missed", "target missed"],
    ["none", "no target"],
  ] as const) {
    out.push(
      `<rect x="${lx}" y="34" width="14" height="10" fill="${COLORS[key]}"/>`,
      `<text x="${lx + 18}" y="43">${label}</text>`,
    );
    lx += 30 + label.length * 6.5;
  }
  out.push(`<text x="${lx}" y="43" fill="#333">| target</text>`);

  // Grid every 0.5x, with 1.0x emphasised.
  const plotBottom = top + rows.length * rowHeight;
  for (let g = 0; g <= max + 1e-9; g += 0.5) {
    const gx = x(g).toFixed(1);
    const strong = Math.abs(g - 1) < 1e-9;
    out.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${plotBottom}" stroke="${strong ? "#222" : "#ddd"}" stroke-width="${strong ? 1.5 : 1}"/>`,
      `<text x="${gx}" y="${plotBottom + 16}" text-anchor="middle" fill="#444">${g.toFixed(1)}x</text>`,
    );
  }

  rows.forEach((row, r) => {
    const y0 = top + r * rowHeight;
    if (r % 2 === 1)
      out.push(
        `<rect x="0" y="${y0}" width="${width}" height="${rowHeight}" fill="#f6f6f6" fill-opacity="0.7"/>`,
      );
    out.push(
      `<text x="${labelWidth - 8}" y="${y0 + rowHeight / 2 + 4}" text-anchor="end">${xml(row.label)}</text>`,
    );
    row.values.forEach((v, i) => {
      const by = y0 + 4 + i * (barHeight + 2);
      if (v.ratio === undefined || Number.isNaN(v.ratio)) {
        out.push(
          `<text x="${labelWidth + 4}" y="${by + barHeight - 1}" fill="#999">${xml(v.workload)}: n/a</text>`,
        );
        return;
      }
      const state = row.target === undefined ? "none" : v.ratio >= row.target ? "met" : "missed";
      out.push(
        `<rect x="${labelWidth}" y="${by}" width="${(x(v.ratio) - labelWidth).toFixed(1)}" height="${barHeight}" fill="${COLORS[state]}" fill-opacity="${WORKLOAD_OPACITY[i] ?? 0.4}"><title>${xml(`${row.label} (${v.workload}): ${v.ratio.toFixed(2)}x`)}</title></rect>`,
        `<text x="${(x(v.ratio) + 4).toFixed(1)}" y="${by + barHeight - 1}" font-size="11">${v.ratio.toFixed(2)}x</text>`,
      );
    });
    if (row.target !== undefined) {
      const tx = x(row.target).toFixed(1);
      out.push(
        `<line x1="${tx}" y1="${y0 + 2}" x2="${tx}" y2="${y0 + rowHeight - 2}" stroke="#111" stroke-width="2"/>`,
      );
    }
  });
  if (footnote)
    out.push(`<text x="12" y="${height - 10}" fill="#555" font-size="11">${xml(footnote)}</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
