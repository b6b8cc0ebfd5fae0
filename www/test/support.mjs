// Shared by the demo tests: the repository's paths, the pinned npm tools (installed once, by
// `npm ci` in bindings/wasm/js, so they are required from there), the demo server and
// Debian's Chromium.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const jsDir = join(repoRoot, 'bindings/wasm/js');
export const pkgDir = join(repoRoot, 'bindings/wasm/pkg');
/** Where screenshots go (git-ignored with the rest of target/). */
export const screenshotDir = join(repoRoot, 'target/screenshots');

/** `require` for the pinned tools of bindings/wasm/js/package.json (playwright-core, wrangler, miniflare). */
export const requireTool = createRequire(join(jsDir, 'package.json'));

/** `import()` of a pinned ES module tool of bindings/wasm/js/package.json (jose). */
export function importTool(name) {
  return import(pathToFileURL(requireTool.resolve(name)).href);
}

/** No telemetry, no update checks, no fetches, for every tool started here. */
export const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  // No banner, so no update check against the npm registry.
  WRANGLER_HIDE_BANNER: 'true',
  // Miniflare would fetch a sample `request.cf` object from Cloudflare.
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  npm_config_update_notifier: 'false',
};

/**
 * Starts the demo server exactly as users do, without the build (an earlier step of
 * `cargo xtask test` built the package): the xtask binary that runs the tests
 * (RFC7523_XTASK), else `cargo xtask`. Resolves to { url, stop } once it prints its address.
 */
export function startDemoServer() {
  const xtask = process.env.RFC7523_XTASK;
  const [program, args] = xtask
    ? [xtask, ['demo', '--no-build', '--port', '0']]
    : ['cargo', ['xtask', 'demo', '--no-build', '--port', '0']];
  const child = spawn(program, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: quietEnv });
  let output = '';
  const stop = () =>
    new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`the demo server printed no address within 120 s:\n${output}`));
    }, 120_000);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (match) {
        clearTimeout(timer);
        resolveStart({ url: match[0], stop, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the demo server exited (${code ?? signal}):\n${output}`));
    });
  });
}

/** The flags of ../shared/TOOLCHAIN.md: headless, no sandbox (root), no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium through playwright-core, with a fresh profile folder. */
export async function launchChromium(contextOptions = {}) {
  const { chromium } = requireTool('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'rfc7523-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    ...contextOptions,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function ensureScreenshotDir() {
  mkdirSync(screenshotDir, { recursive: true });
  return screenshotDir;
}
