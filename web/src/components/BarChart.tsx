// A small horizontal bar chart: each row a label, a bar scaled to the largest value, and the
// number itself, so it reads without the bars (and on a phone).

export interface Bar {
  key: string;
  label: string;
  value: number;
}

export function BarChart({ title, bars, empty = "Nothing yet." }: { title: string; bars: Bar[]; empty?: string }) {
  const max = Math.max(0, ...bars.map((b) => b.value));
  const id = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      {bars.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul>
          {bars.map((bar) => (
            <li key={bar.key}>
              <span className="bar-label" title={bar.label}>
                {bar.label}
              </span>
              <span className="bar-track" aria-hidden="true">
                <span className="bar" style={{ width: `${max === 0 ? 0 : (bar.value / max) * 100}%` }} />
              </span>
              <span className="bar-value">{bar.value}</span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
