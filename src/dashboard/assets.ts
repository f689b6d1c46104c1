/**
 * The static files the pages load, embedded in the program (text imports are bundled and
 * compiled in), served from /static/ under a content-hashed URL so browsers may cache them.
 */
import islandsJs from "./generated/islands.js" with { type: "text" };
import { STYLESHEET } from "./styles.ts";

export interface Asset {
  body: string;
  type: string;
  /** Short content hash, used in the URL (`?v=`) and as the ETag. */
  hash: string;
}

export const ISLANDS_JS: Asset = asset(islandsJs, "text/javascript; charset=utf-8");
export const STYLE_CSS: Asset = asset(STYLESHEET, "text/css; charset=utf-8");

function asset(body: string, type: string): Asset {
  return { body, type, hash: fnv1a(body) };
}

/** A 32-bit FNV-1a hash as 8 hex digits: enough to tell two versions of a file apart. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
