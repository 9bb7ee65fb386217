import { setFlagsFromString } from 'node:v8';

/**
 * HEAP_GROWING_PERCENT: how far V8 may let the old generation grow past what
 * survived its last full collection before it collects again. By default V8
 * picks a factor of up to 4x (it favours speed when memory looks plentiful),
 * so a node holding 100,000 leases and locks — a large, long-lived state under
 * a steady stream of short-lived request garbage — sat at 578 MB RSS for
 * about 100 MB of live heap. Three or five members share one machine, so a
 * member keeps its heap within 20% of its live size, as etcd's Go runtime
 * keeps within 100% (GOGC). Request garbage dies young (scavenges, untouched
 * by this), so full collections stay rare.
 */
export const HEAP_GROWING_PERCENT = 20;

/** limitHeapGrowth applies HEAP_GROWING_PERCENT to this process; the node calls it first thing (V8 reads it at every full collection). */
export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
