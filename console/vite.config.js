// The console is served by the console-page function at /console/ (its assets at
// /console/assets/<hashed name>), under a CSP that allows no inline script or style.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';

// API Gateway does not compress: each script and style sheet is also written gzipped
// (`<name>.gz`), which console-page sends to browsers that accept gzip.
const gzipped = {
  name: 'gzipped-assets',
  apply: 'build',
  writeBundle(options, bundle) {
    for (const name of Object.keys(bundle).filter((n) => /\.(js|css)$/.test(n))) {
      const file = bundle[name];
      const source = file.type === 'chunk' ? file.code : file.source;
      writeFileSync(join(options.dir, `${name}.gz`), gzipSync(source, { level: 9 }));
    }
  },
};

export default defineConfig({
  base: '/console/',
  plugins: [gzipped],
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
