import { type ComponentProps, type ComponentType, h } from "preact";
import { type IslandName, ISLANDS } from "./registry.ts";

/**
 * Server side only (the browser bundle starts at client.ts and never loads this file). Renders
 * island `name` on the server inside the element the browser bundle hydrates. The props
 * travel as JSON in a `data-props` attribute, which JSX escapes like any attribute, so no data
 * ever needs an inline script.
 */
export function Island<N extends IslandName>(
  { name, props, inline }: {
    name: N;
    props: ComponentProps<(typeof ISLANDS)[N]>;
    inline?: boolean;
  },
) {
  const Tag = inline ? "span" : "div";
  const component = ISLANDS[name] as unknown as ComponentType<Record<string, unknown>>;
  return (
    <Tag data-island={name} data-props={JSON.stringify(props)}>
      {h(component, props as unknown as Record<string, unknown>)}
    </Tag>
  );
}
