// The unit-economics view's two uPlot charts: unit cost over time with anomalies marked, and the scatter of daily
// cost against a business driver with its fitted line. Loaded with that view only.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { UnitSeries } from "./unitShape";

const PALETTE = ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#65a30d", "#a16207"];
const noPath = () => null;

/** Draws a plot in `element`, sized to it; returns the clean-up. */
function mount(element: HTMLDivElement, height: number, make: (width: number) => { options: uPlot.Options; data: uPlot.AlignedData }): () => void {
  const width = () => Math.max(element.clientWidth, 280);
  const made = make(width());
  const plot = new uPlot(made.options, made.data, element);
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height }));
  resize.observe(element);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}

const colorOf = (s: UnitSeries, i: number) =>
  s.kind === "total" ? "#111827" : s.kind === "unallocated" ? "#6b7280" : (PALETTE[i % PALETTE.length] ?? "#2563eb");

/** Lines of unit cost on a UTC time axis (epoch seconds), then one points-only series per line with anomalies. */
function unitCostPlot(x: number[], series: UnitSeries[], format: (value: number) => string, width: number, height: number) {
  const shown = (_u: uPlot, v: number | null) => (v === null ? "–" : format(v));
  const lines: uPlot.Series[] = series.map((s, i) => ({
    label: s.label,
    stroke: colorOf(s, i),
    width: 2,
    dash: s.kind === "unallocated" ? [6, 4] : undefined,
    value: shown,
  }));
  const data: (number | null)[][] = series.map((s) => s.values);
  series.forEach((s, i) => {
    if (!s.anomalies.some((v) => v !== null)) return;
    lines.push({
      label: `${s.label}: anomaly`,
      stroke: colorOf(s, i),
      paths: noPath,
      points: { show: true, size: 11, fill: "#dc2626", stroke: "#7f1d1d", width: 1 },
      value: shown,
    });
    data.push(s.anomalies);
  });
  const options: uPlot.Options = {
    width,
    height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    axes: [{ label: "Period (UTC)" }, { values: (_u, ticks) => ticks.map(format), size: 80 }],
    series: [{ label: "Period" }, ...lines],
  };
  return { options, data: [x, ...data] as uPlot.AlignedData };
}

/** Daily cost against the driver as points (x sorted ascending), and the fitted line at the same x. */
function scatterPlot(x: number[], cost: number[], fit: (number | null)[], xLabel: string, format: (value: number) => string, width: number, height: number) {
  const shown = (_u: uPlot, v: number | null) => (v === null ? "–" : format(v));
  const options: uPlot.Options = {
    width,
    height,
    scales: { x: { time: false } },
    cursor: { drag: { x: false, y: false } },
    axes: [{ label: xLabel }, { values: (_u, ticks) => ticks.map(format), size: 80, label: "Daily cost" }],
    series: [
      { label: xLabel },
      { label: "Daily cost", stroke: "#2563eb", paths: noPath, points: { show: true, size: 8, fill: "#2563eb" }, value: shown },
      { label: "Fitted line", stroke: "#dc2626", width: 2, dash: [6, 4], points: { show: false }, value: shown },
    ],
  };
  return { options, data: [x, cost, fit] as uPlot.AlignedData };
}

/** One series per line: unit cost per period (UTC); an anomalous period is a red point on its line. */
export function UnitCostChart({ x, series, title, format, height = 280 }: {
  x: number[];
  series: UnitSeries[];
  title: string;
  format: (value: number) => string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    return mount(box.current, height, (width) => unitCostPlot(x, series, format, width, height));
  }, [x, series, format, height]);
  return <div ref={box} className="chart" role="img" aria-label={title} data-testid="unit-cost-chart" />;
}

/** Daily cost (y) against the driver (x) as points, and the fitted straight line over them. */
export function ScatterChart({ x, cost, fit, title, xLabel, format, height = 300 }: {
  x: number[];
  cost: number[];
  fit: (number | null)[];
  title: string;
  xLabel: string;
  format: (value: number) => string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    return mount(box.current, height, (width) => scatterPlot(x, cost, fit, xLabel, format, width, height));
  }, [x, cost, fit, xLabel, format, height]);
  return <div ref={box} className="chart" role="img" aria-label={title} data-testid="correlation-chart" />;
}
