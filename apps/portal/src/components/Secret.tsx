// A secret the API shows once (cleanroom keys, a new API key): visible until the person dismisses it, then gone from
// the page for good — the portal keeps no copy.
import { useState, type ReactNode } from 'react';

export function OnceSecret({ title, children }: { title: string; children: ReactNode }) {
  const [open, setOpen] = useState(true);
  if (!open) return null;
  return (
    <section className="secret" aria-label={title}>
      <h3>{title}</h3>
      <p className="warning">Shown once: copy it now. The portal does not keep it; to get a new one, rotate the key.</p>
      {children}
      <button type="button" onClick={() => setOpen(false)}>
        I have copied it — hide
      </button>
    </section>
  );
}
