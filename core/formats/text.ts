/**
 * Text decoding of header strings. `strict` rejects malformed UTF-8 (a header that must be
 * valid); `lenient` replaces it (file sniffing, names in lenient containers).
 */
export const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
export const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
