// The console is served by the console-page function at /console/ (its assets at
// /console/assets/<hashed name>), under a CSP that allows no inline script or style.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Every browser the console supports loads modules natively: no inline polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2020',
    reportCompressedSize: true,
  },
});
