// The `rfc7523/web` entry: init() / initSync() before use (browsers, Deno, a Worker that
// imports the .wasm itself).
import init, { AssertionVerifier, initSync } from 'rfc7523/web';

export async function load(url: URL): Promise<AssertionVerifier> {
  await init({ module_or_path: url });
  return new AssertionVerifier({ registry: { issuer: 'a', clients: [] }, rsa: 'wasm' });
}

export function loadSync(module: WebAssembly.Module): void {
  initSync({ module });
}
