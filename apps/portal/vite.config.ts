// Vite builds the portal into dist/, served by apps/api at /portal/. JSX goes through Vite's own transform (no
// React plugin: fast refresh is all it would add, and the build needs none of it).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/portal/',
  root: import.meta.dirname,
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles: the api's Content-Security-Policy allows only files from its own origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
