/**
 * Lock names are UTF-8 on the wire and JS strings in memory. These helpers fix
 * the one canonical order of names (used wherever iteration order reaches a
 * result or a byte) and measure names the way the limits count them.
 */

/**
 * compareNames orders names by UTF-16 code units. Any fixed total order would
 * do; what matters is that every replica uses this one and never Map or Set
 * insertion order, which differs between a replica that restored a snapshot
 * and one that replayed the log.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sortNames returns the names in canonical order. */
export function sortNames(names: Iterable<string>): string[] {
  return Array.from(names).sort(compareNames);
}

/**
 * isWellFormed reports whether `s` has no lone surrogates, i.e. whether it
 * survives a UTF-8 round trip unchanged. A string with a lone surrogate would
 * be encoded as U+FFFD and so name a different lock than the caller meant.
 */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** utf8ByteLength is the length of `s` in UTF-8, counting a lone surrogate as the 3 bytes of U+FFFD. */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    } else n += 3;
  }
  return n;
}
