import { formatAddress, isLoopback, type Address } from '../net/address.js';
import { UsageError } from '../options/parse.js';

/**
 * Why `--api` may not listen on `address`, or null when it may. The control API has no
 * authentication (toxiproxy's has none either): whoever reaches it can redirect, stop or poison
 * every proxy, so only this machine may reach it unless the operator says otherwise with
 * `--api-insecure` (as tunnel-server refuses plain links off loopback without `--insecure`).
 */
export function apiListenRefusal(address: Address, allowInsecure: boolean): string | null {
  if (allowInsecure || isLoopback(address)) return null;
  return (
    `--api: refusing non-loopback ${formatAddress(address)}: the control API has no authentication and anyone who ` +
    'reaches it steers every proxy; give a loopback address (127.0.0.1:8474) or --api-insecure'
  );
}

/** Throws the CLI's UsageError (one line, exit 2) when `--api` may not listen on `address`; see apiListenRefusal. */
export function checkApiListen(address: Address, allowInsecure: boolean): void {
  const refusal = apiListenRefusal(address, allowInsecure);
  if (refusal !== null) throw new UsageError(refusal);
}
