/**
 * The error page for pages (API routes answer JSON). The message is the
 * error's own only for an `HttpError` (4xx messages are written to be shown)
 * or in development; otherwise a generic one, so a 500 never shows internals.
 *
 * @module
 */
import { HttpError } from "../lib/framework/mod.ts";
import { define } from "../services/web/define.ts";

export default define.page(function ErrorPage({ error, config }) {
  const status = error instanceof HttpError ? error.status : 500;
  const message = error instanceof HttpError ||
      (config.mode === "development" && error instanceof Error)
    ? (error as Error).message
    : "internal server error";
  return (
    <main class="error-page">
      <h1>{status >= 500 ? "Something went wrong" : "Cannot show this page"}</h1>
      <p>
        {status}: {message}
      </p>
      <p>
        <a href="/">Back to the globe</a>
      </p>
    </main>
  );
});
