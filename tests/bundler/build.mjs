// Builds tests/bundler/app.js with esbuild the way an application using the
// package does, into a folder ready to serve:
//
//   <outDir>/index.html
//   <outDir>/assets/app.js          the bundle (torchfunc-wasm's modules inlined)
//   <outDir>/assets/torchfunc.wasm  copied from the package
//
// What a user of esbuild must do (the package's loader finds its core with
// `new URL('./torchfunc.wasm', import.meta.url)`, which esbuild leaves as it
// is, so the URL resolves against wherever the bundled code is served from):
//
//   esbuild src/app.js --bundle --format=esm --outdir=public/assets
//   cp node_modules/torchfunc-wasm/dist/torchfunc.wasm public/assets/
//
// - format esm: the entry uses top-level await and import.meta.url (an iife
//   or cjs bundle has neither; esbuild's default target, esnext, keeps both);
// - the .wasm goes next to the output file that holds the package's loader:
//   with one entry and no splitting that is the bundle itself; with
//   `--splitting` it is a chunk, and chunks are written to outdir too, so
//   outdir is the place either way (with --entry-names/--chunk-names that put
//   files in subfolders, next to the chunk). esbuild's `file` loader does not
//   apply here, since nothing imports the .wasm; copy it (or fetch it from
//   elsewhere and pass nothing: the URL is resolved at run time only).
//
// The package is resolved by its name through a temporary project whose
// node_modules/torchfunc-wasm is a symlink to this repository, so esbuild
// reads package.json's "exports" as it would after `npm install`.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');

/**
 * Bundles app.js into outDir. Options: packageDir (the package to install,
 * default this repository), external (esbuild's `external`, e.g.
 * ['node:*'] for a package that names Node builtins in code a browser never
 * runs). Resolves to { outDir, files: output paths relative to outDir,
 * warnings (esbuild's, formatted), bundleBytes }. Rejects with esbuild's
 * error when the build fails.
 */
export async function bundleApp(outDir, { packageDir = ROOT, external = [] } = {}) {
  const project = mkdtempSync(join(tmpdir(), 'ft-bundler-project-'));
  try {
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(packageDir, join(project, 'node_modules', 'torchfunc-wasm'), 'dir');
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'app.js'), readFileSync(join(HERE, 'app.js')));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'ft-bundler-app', private: true, type: 'module' }));

    const assets = join(outDir, 'assets');
    mkdirSync(assets, { recursive: true });
    const result = await esbuild.build({
      absWorkingDir: project,
      entryPoints: ['src/app.js'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      splitting: false,
      outdir: assets,
      external,
      metafile: true,
      logLevel: 'silent',
    });
    // the copy step: the core next to the bundle that loads it
    copyFileSync(join(packageDir, 'dist', 'torchfunc.wasm'), join(assets, 'torchfunc.wasm'));
    copyFileSync(join(HERE, 'index.html'), join(outDir, 'index.html'));

    const warnings = await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false });
    const outputs = Object.keys(result.metafile.outputs);
    return {
      outDir,
      files: ['index.html', ...outputs.map((p) => `assets/${p.split('/').pop()}`), 'assets/torchfunc.wasm'],
      warnings,
      bundleBytes: result.metafile.outputs[outputs[0]].bytes,
      inputs: Object.keys(result.metafile.inputs),
    };
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}
