// Headline figures (counts, prices) as a definition list of label and value pairs.
import type { ReactNode } from 'react';

export interface Figure {
  label: string;
  value: ReactNode;
  testId?: string;
}

export function Figures({ items }: { items: Figure[] }) {
  return (
    <dl className="figures">
      {items.map((f) => (
        <div key={f.label}>
          <dt>{f.label}</dt>
          <dd data-testid={f.testId}>{f.value}</dd>
        </div>
      ))}
    </dl>
  );
}
