import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import { ISLANDS_JS, STYLE_CSS } from "./assets.ts";

export interface PageMeta {
  title: string;
  /** The project root, shown in the header. */
  project: string;
  token: string;
}

/** The page shell: header with navigation, the stylesheet and the islands bundle (both /static/). */
export function Layout({ meta, children }: { meta: PageMeta; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="cmcs-token" content={meta.token} />
        <title>{`${meta.title} · cmcs`}</title>
        <link rel="stylesheet" href={`/static/style.css?v=${STYLE_CSS.hash}`} />
        <link rel="icon" href="data:," />
        <script type="module" src={`/static/islands.js?v=${ISLANDS_JS.hash}`} />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">cmcs</a>
          <span class="project" title={meta.project}>{meta.project}</span>
          <nav>
            <a href="/">Overview</a>
            <a href="/#runs">Runs</a>
            <a href="/#events">Events</a>
            <a href="/api/runs">API</a>
          </nav>
        </header>
        <main>{children}</main>
        <footer>cmcs dashboard · times are UTC</footer>
      </body>
    </html>
  );
}

/** A complete HTML document for `page`. */
export function renderPage(meta: PageMeta, page: ComponentChildren): string {
  return "<!DOCTYPE html>" + renderToString(<Layout meta={meta}>{page}</Layout>);
}
