// A small wrapper around uPlot (about 20 kB gzip): line series over a numeric x axis, sized to its container.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[];
}

export function LineChart({ x, lines, title, height = 260, format, axisLabel = "Day of month" }: {
  x: number[];
  axisLabel?: string;
  lines: Line[];
  title: string;
  height?: number;
  format: (value: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 280),
      height,
      scales: { x: { time: false } },
      axes: [{ label: axisLabel }, { values: (_u, ticks) => ticks.map(format), size: 70 }],
      series: [
        { label: "Day" },
        ...lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, dash: l.dash, value: (_u: uPlot, v: number | null) => (v === null ? "–" : format(v)) })),
      ],
    };
    const plot = new uPlot(options, [x, ...lines.map((l) => l.values)] as uPlot.AlignedData, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 280), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, lines, height, format, axisLabel]);

  return <div ref={box} className="chart" role="img" aria-label={title} />;
}
