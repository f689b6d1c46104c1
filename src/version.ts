/** cmcs's version; release builds also stamp {@link BUILD} (see scripts/compile.ts). */
export const VERSION = "0.1.0";

/** Build identity: "dev" when run from source, replaced by the bundle/compile scripts. */
export const BUILD = "dev";
