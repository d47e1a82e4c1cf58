/**
 * Percent-decoding as Bun.serve does it for a route's `:param` and a cookie's value: UTF-8, and a
 * bad escape (`%zz`) or bad UTF-8 (`%E2%82`) becomes U+FFFD where decodeURIComponent would throw.
 */
const LENIENT_UTF8 = new TextDecoder();

export function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const hex = text.slice(i + 1, i + 3);
      if (text[i] === "%") {
        // 0xFF is never UTF-8: the decoder gives U+FFFD for it, as Bun does for "%zz".
        bytes.push(/^[0-9a-fA-F]{2}$/.test(hex) ? Number.parseInt(hex, 16) : 0xff);
        i += 2;
      } else {
        bytes.push(...new TextEncoder().encode(text[i]));
      }
    }
    return LENIENT_UTF8.decode(new Uint8Array(bytes));
  }
}
