/**
 * The browser entry point, bundled by `deno task build:islands` into
 * src/dashboard/generated/islands.js: hydrates every server-rendered island on the page.
 */
import { type ComponentType, h, hydrate } from "preact";
import { ISLANDS } from "./registry.ts";

interface IslandElement {
  dataset: { island?: string; props?: string };
}

declare const document: { querySelectorAll(selector: string): Iterable<IslandElement> };

for (const element of document.querySelectorAll("[data-island]")) {
  const component = ISLANDS[element.dataset.island as keyof typeof ISLANDS] as unknown as
    | ComponentType<Record<string, unknown>>
    | undefined;
  if (!component) continue;
  const props = JSON.parse(element.dataset.props ?? "{}");
  hydrate(h(component, props), element as unknown as Parameters<typeof hydrate>[1]);
}
