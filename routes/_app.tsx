/**
 * The HTML document around every page. Pages add to `<head>` with
 * `<Head>` from lib/framework/runtime.ts; island scripts are added before
 * `</body>` by the framework.
 *
 * @module
 */
import { define } from "../services/web/define.ts";

export default define.page(function App({ Component }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="dark light" />
        <title>SkySentinel</title>
        <link rel="icon" href="data:," />
      </head>
      <body>
        <Component />
      </body>
    </html>
  );
});
