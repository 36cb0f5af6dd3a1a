// Thin wrappers over the vendored Chart.js (window.Chart, loaded by a classic script tag):
// bounded time series that scroll, and bar charts that are replaced wholesale.

export const MAX_POINTS = 120;
export const PALETTE = ["#1f5fbf", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285", "#e67700"];

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function baseOptions() {
  const text = css("--muted") || "#5b6775";
  const grid = css("--border") || "#d8dee6";
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    normalized: true,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { labels: { color: text, boxWidth: 12 } } },
    scales: {
      x: { ticks: { color: text, maxRotation: 0, autoSkip: true, maxTicksLimit: 8 }, grid: { color: grid } },
      y: { ticks: { color: text }, grid: { color: grid }, beginAtZero: true },
    },
  };
}

function chartLib() {
  if (!window.Chart) throw new Error("Chart.js did not load (static/vendor/chart.umd.min.js)");
  return window.Chart;
}

/** A line chart whose series are fed one point at a time; old points scroll off. */
export class TimeSeries {
  constructor(canvasId, { yMax, yLabel } = {}) {
    const options = baseOptions();
    if (yMax !== undefined) options.scales.y.max = yMax;
    if (yLabel) options.scales.y.title = { display: true, text: yLabel, color: options.scales.y.ticks.color };
    this.chart = new (chartLib())(document.getElementById(canvasId), {
      type: "line",
      data: { labels: [], datasets: [] },
      options,
    });
    this.index = new Map();
  }

  series(name) {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.chart.data.datasets.length;
      const color = PALETTE[i % PALETTE.length];
      this.chart.data.datasets.push({
        label: name,
        data: new Array(this.chart.data.labels.length).fill(null),
        borderColor: color,
        backgroundColor: color,
        borderWidth: 2,
        pointRadius: 0,
        spanGaps: true,
        tension: 0.2,
      });
      this.index.set(name, i);
    }
    return this.chart.data.datasets[i];
  }

  /** Add one x position with a value per series (missing series get a gap). */
  add(label, values) {
    const data = this.chart.data;
    data.labels.push(label);
    for (const ds of data.datasets) ds.data.push(null);
    for (const [name, v] of Object.entries(values)) {
      const ds = this.series(name);
      ds.data[ds.data.length - 1] = v === undefined || v === null || Number.isNaN(v) ? null : v;
    }
    if (data.labels.length > MAX_POINTS) {
      data.labels.shift();
      for (const ds of data.datasets) ds.data.shift();
    }
    this.chart.update("none");
  }

  /** Replace everything (switching rolling / cumulative, or another metric). */
  reset(points) {
    this.chart.data.labels = [];
    this.chart.data.datasets = [];
    this.index.clear();
    for (const [label, values] of points) this.add(label, values);
    this.chart.update("none");
  }
}

/** A grouped bar chart replaced wholesale on every refresh. */
export class Bars {
  constructor(canvasId, { percentAxis = "" } = {}) {
    const options = baseOptions();
    if (percentAxis) {
      const color = options.scales.y.ticks.color;
      options.scales.y1 = {
        position: "right",
        beginAtZero: true,
        grid: { drawOnChartArea: false },
        ticks: { color, callback: (v) => `${(v * 100).toFixed(0)}%` },
        title: { display: true, text: percentAxis, color },
      };
    }
    this.chart = new (chartLib())(document.getElementById(canvasId), {
      type: "bar",
      data: { labels: [], datasets: [] },
      options,
    });
  }

  /** series: [{label, data, type?: "line", yAxisID?}] */
  set(labels, series) {
    this.chart.data.labels = labels;
    this.chart.data.datasets = series.map((s, i) => ({
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      pointRadius: 2,
      ...s,
    }));
    this.chart.update("none");
  }
}
