// Records delivered per day and subscription as stacked bars, in plain SVG (a chart library would outweigh the rest of
// the page). The same figures are in a table next to it for screen readers and keyboard users.
export interface DailyUsage {
  day: string; // YYYY-MM-DD
  bySubscription: Record<string, number>;
}

// Colour-blind-safe (Okabe–Ito), each at least 3:1 against white.
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#8C6D00', '#56739A'];

export function UsageChart({ month, days, series }: { month: string; days: DailyUsage[]; series: Array<{ id: string; label: string }> }) {
  const width = 720;
  const height = 220;
  const pad = { left: 56, right: 8, top: 12, bottom: 28 };
  const [y, m] = month.split('-').map(Number) as [number, number];
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const totals = days.map((d) => Object.values(d.bySubscription).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const slot = (width - pad.left - pad.right) / daysInMonth;
  const scale = (v: number) => (v / max) * (height - pad.top - pad.bottom);
  const colorOf = (id: string) => COLORS[series.findIndex((s) => s.id === id) % COLORS.length]!;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="usage-chart-title" preserveAspectRatio="xMidYMid meet">
        <title id="usage-chart-title">{`Records delivered per day in ${month}, by subscription; highest day ${max.toLocaleString('en')} records`}</title>
        <line x1={pad.left} x2={width - pad.right} y1={height - pad.bottom} y2={height - pad.bottom} stroke="#333" />
        <text x={pad.left - 6} y={pad.top + 8} textAnchor="end" fontSize="11" fill="#333">
          {max.toLocaleString('en')}
        </text>
        <text x={pad.left - 6} y={height - pad.bottom} textAnchor="end" fontSize="11" fill="#333">
          0
        </text>
        {Array.from({ length: daysInMonth }, (_, i) => i + 1)
          .filter((d) => d === 1 || d % 5 === 0)
          .map((d) => (
            <text key={d} x={pad.left + (d - 0.5) * slot} y={height - 10} textAnchor="middle" fontSize="11" fill="#333">
              {d}
            </text>
          ))}
        {days.map((d) => {
          const dayOfMonth = Number(d.day.slice(8, 10));
          let top = height - pad.bottom;
          return Object.entries(d.bySubscription).map(([id, v]) => {
            const h = Math.max(1, scale(v));
            top -= h;
            return <rect key={`${d.day}-${id}`} data-day={d.day} x={pad.left + (dayOfMonth - 1) * slot + slot * 0.15} width={slot * 0.7} y={top} height={h} fill={colorOf(id)} />;
          });
        })}
      </svg>
      <figcaption>
        <ul className="legend">
          {series.map((s) => (
            <li key={s.id}>
              <svg width="12" height="12" aria-hidden="true" className="swatch">
                <rect width="12" height="12" fill={colorOf(s.id)} />
              </svg>{' '}
              {s.label}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
