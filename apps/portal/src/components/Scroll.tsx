// A table wider than a phone screen scrolls sideways; the region takes keyboard focus so it can be scrolled without
// a pointer, and names itself for screen readers.
import type { ReactNode } from 'react';

export function Scroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="scroll" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
