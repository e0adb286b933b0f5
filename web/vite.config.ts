// Builds the user app into dist/: content-hashed assets under /assets/ (served
// with a one-year immutable cache), a service worker that precaches the
// shell, and a .gz beside every compressible file (ringhouse serves it to
// clients that accept gzip).
import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, relative } from 'node:path';

const root = fileURLToPath(new URL('.', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// The service worker: src/sw/sw.js with the list of files to precache and a
// version that changes with them.
function serviceWorker(): Plugin {
  let outDir = 'dist';
  return {
    name: 'ringhouse-service-worker',
    apply: 'build',
    configResolved(c) {
      outDir = c.build.outDir;
    },
    writeBundle() {
      const dist = join(root, outDir);
      const files = walk(dist)
        .map((p) => '/' + relative(dist, p).split('\\').join('/'))
        .filter((p) => !p.endsWith('.gz') && !p.endsWith('.map') && p !== '/sw.js')
        .sort();
      const version = files.filter((f) => f.startsWith('/assets/')).join(',');
      let hash = 0;
      for (const ch of version) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
      const sw = readFileSync(join(root, 'src/sw/sw.js'), 'utf8')
        .replace('__PRECACHE__', JSON.stringify(files))
        .replace('__VERSION__', (hash >>> 0).toString(36));
      writeFileSync(join(dist, 'sw.js'), sw);
      for (const p of walk(dist)) {
        if (!/\.(js|css|html|svg|json|webmanifest|txt)$/.test(p)) continue;
        const body = readFileSync(p);
        if (body.length < 1024) continue;
        writeFileSync(p + '.gz', gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  plugins: [vue(), serviceWorker()],
  resolve: { alias: { '@': join(root, 'src') } },
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a local `ringhouse up`.
    proxy: { '/v1': 'http://127.0.0.1:8080', '/media': 'http://127.0.0.1:8080' },
  },
});
