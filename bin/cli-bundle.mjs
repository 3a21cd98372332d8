// Built JavaScript for bin/tollgate, made on first run and again whenever a source changed.
//
// Why: running the TypeScript sources through tsx costs every process about 35 MB of RSS
// (tsx's loader thread and esbuild) and slower module loading. A bundle needs neither, yet
// `npm ci` alone must leave a working CLI, so the build happens here rather than in a script
// npm may skip. esbuild comes with tsx; its JS API works without esbuild's postinstall.
//
// Guarantees: the bundle is used only when every input it was built from is unchanged (size
// and mtime); files are written under temporary names and renamed, so a concurrent run sees an
// old or a new file, never half of one; any failure returns null and the caller falls back to
// tsx. Packages stay external and resolve from the project's node_modules.

import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.join(import.meta.dirname, '..');

/**
 * The built form of `entry` (a path relative to the project root) in `outDir` (also relative;
 * two levels deep, like the sources, so `new URL('../../package.json', import.meta.url)` in a
 * source still finds the project's package.json). Resolves to the entry's absolute path, or
 * null when it cannot be built here (read-only install, esbuild missing).
 */
export async function freshBundle(entry, outDir) {
  const dir = path.join(ROOT, outDir);
  const name = path.basename(entry).replace(/\.ts$/, '.js');
  const built = path.join(dir, name);
  const manifest = path.join(dir, `${name}.inputs.json`);
  if (isFresh(manifest, built)) return built;

  try {
    await build(path.join(ROOT, entry), dir, name, manifest);
    return built;
  } catch {
    return null;
  }
}

function isFresh(manifest, built) {
  try {
    const { entry, inputs } = JSON.parse(readFileSync(manifest, 'utf8'));
    // The entry is stamped too: a concurrent build may have replaced it after this manifest.
    if (stampOf(built) !== entry) return false;
    for (const [file, stamp] of Object.entries(inputs)) {
      if (stampOf(path.join(ROOT, file)) !== stamp) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function stampOf(file) {
  const { size, mtimeMs } = statSync(file);
  return `${size}:${mtimeMs}`;
}

async function build(entryPath, dir, name, manifest) {
  const esbuild = await import('esbuild');
  const startedAt = Date.now();
  const result = await esbuild.build({
    entryPoints: [entryPath],
    absWorkingDir: ROOT,
    outdir: dir,
    bundle: true,
    // Each lazily imported command keeps its own chunk, so `tollgate ca --path` does not load
    // the proxy's packages.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });

  const inputs = {};
  let changedDuringBuild = false;
  for (const input of Object.keys(result.metafile.inputs)) {
    inputs[input] = stampOf(path.join(ROOT, input));
    if (statSync(path.join(ROOT, input)).mtimeMs >= startedAt) changedDuringBuild = true;
  }

  mkdirSync(dir, { recursive: true });
  const written = new Set([`${name}.inputs.json`]);
  // Chunks first, the entry after them: a reader that sees the new entry finds its chunks.
  const files = [...result.outputFiles].sort((a, b) => rank(a.path, name) - rank(b.path, name));
  for (const file of files) {
    writeAtomically(file.path, file.contents);
    written.add(path.basename(file.path));
  }
  // A source saved while esbuild read it may not be in this bundle: no manifest, so the next
  // run builds again.
  if (!changedDuringBuild) {
    const entry = stampOf(path.join(dir, name));
    writeAtomically(manifest, JSON.stringify({ entry, inputs }));
  }
  removeOldChunks(dir, written);
}

function rank(file, entryName) {
  return path.basename(file) === entryName ? 1 : 0;
}

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** Chunks of earlier builds, left for a minute in case a running process still imports them. */
function removeOldChunks(dir, keep) {
  const before = Date.now() - 60_000;
  for (const file of readdirSync(dir)) {
    if (keep.has(file) || !file.startsWith('chunk-')) continue;
    const full = path.join(dir, file);
    try {
      if (statSync(full).mtimeMs < before) rmSync(full);
    } catch {
      // Another run removed it first.
    }
  }
}
